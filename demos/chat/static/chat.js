// The room's client: long-polls for new messages and posts what you type.
// The cursor is the id of the newest message seen (a string; "" before any),
// valid in every server process, so any of them can answer the next poll.
(function () {
  "use strict";
  var room = document.getElementById("room");
  var prefix = room.dataset.prefix;
  var cursor = room.dataset.cursor;
  var form = document.getElementById("compose");
  var box = document.getElementById("text");
  var status = document.getElementById("status");
  // The value xsrf_form_html() put in the form; sent back with every post.
  var xsrf = form.elements._xsrf.value;
  var retry = 0;

  function poll() {
    fetch(prefix + "/updates?cursor=" + encodeURIComponent(cursor), { cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (answer) {
        answer.messages.forEach(chatkit.show);
        cursor = answer.cursor;
        status.textContent = "";
        retry = 0;
        poll();
      })
      .catch(function (error) {
        retry = chatkit.backoff(retry);
        status.textContent = "Connection lost (" + error.message + "), retrying…";
        setTimeout(poll, retry);
      });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = box.value.trim();
    if (!text) return;
    box.value = "";
    fetch(prefix + "/messages", {
      method: "POST",
      headers: { "X-XSRFToken": xsrf, Accept: "application/json" },
      body: new URLSearchParams({ text: text }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        // The waiting poll brings the message back, in order with everyone else's.
      })
      .catch(function (error) {
        status.textContent = "Not sent (" + error.message + ")";
        box.value = text;
      });
  });

  poll();
})();
