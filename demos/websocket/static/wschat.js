// The room's client: one WebSocket, reopened after a drop, resuming from the last id seen.
// A frame is either a message ({id, author, text, time}), who is online
// ({online: [...]}) or why a message was not sent ({error: "..."}).
(function () {
  "use strict";
  var room = document.getElementById("room");
  var form = document.getElementById("compose");
  var box = document.getElementById("text");
  var status = document.getElementById("status");
  var online = document.getElementById("online");
  var address = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + room.dataset.socket;
  var cursor = ""; // the id of the newest message seen: messages arrive in one order everywhere
  var retry = 0;
  var socket = null;

  function connect() {
    socket = new WebSocket(address + "?cursor=" + encodeURIComponent(cursor));
    socket.onopen = function () {
      status.textContent = "";
      retry = 0;
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.id) {
        chatkit.show(frame);
        cursor = frame.id;
      } else if (frame.online) {
        online.textContent = "Here now: " + frame.online.join(", ");
      } else if (frame.error) {
        status.textContent = frame.error;
      }
    };
    socket.onclose = function () {
      retry = chatkit.backoff(retry);
      status.textContent = "Disconnected, retrying…";
      setTimeout(connect, retry);
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ text: text }));
    box.value = "";
  });

  connect();
})();
