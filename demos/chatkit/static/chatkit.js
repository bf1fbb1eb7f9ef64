// What both chat pages share: putting a message in the list, once, however it arrived.
// Messages carry ids unique across servers, so the same message brought twice
// (a resumed cursor, a poll that went to another process) is shown once.
window.chatkit = (function () {
  "use strict";
  var list = document.getElementById("messages");

  function part(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }

  return {
    // Adds the message to #messages unless it is there already.
    show: function (message) {
      var key = "m" + message.id;
      if (document.getElementById(key)) return;
      var line = part("li", "message", "");
      line.id = key;
      line.append(part("b", "author", message.author), " ", part("span", "text", message.text));
      list.appendChild(line);
      line.scrollIntoView({ block: "nearest" });
    },
    // The next wait before retrying: 0.5 s, doubling up to 15 s.
    backoff: function (previous) {
      return Math.min(previous * 2 || 500, 15000);
    },
  };
})();
