// The room's client: one WebSocket, reopened after a drop, resuming from the last id seen.
(function () {
  "use strict";
  var room = document.getElementById("room");
  var list = document.getElementById("messages");
  var form = document.getElementById("compose");
  var box = document.getElementById("text");
  var status = document.getElementById("status");
  var online = document.getElementById("online");
  var address = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + room.dataset.socket;
  var cursor = 0;
  var retry = 0;
  var socket = null;

  function show(message) {
    cursor = Math.max(cursor, message.id);
    if (document.getElementById("m" + message.id)) return;
    var item = document.createElement("li");
    item.className = "message";
    item.id = "m" + message.id;
    var author = document.createElement("b");
    author.className = "author";
    author.textContent = message.author;
    var text = document.createElement("span");
    text.className = "text";
    text.textContent = message.text;
    item.append(author, " ", text);
    list.appendChild(item);
    item.scrollIntoView({ block: "nearest" });
  }

  function connect() {
    socket = new WebSocket(address + "?cursor=" + cursor);
    socket.onopen = function () {
      status.textContent = "";
      retry = 0;
    };
    socket.onmessage = function (event) {
      var data = JSON.parse(event.data);
      if (data.messages) data.messages.forEach(show);
      if (data.online) online.textContent = "Here now: " + data.online.join(", ");
    };
    socket.onclose = function () {
      retry = Math.min(retry * 2 || 500, 15000);
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
