// Keeps the guestbook box within the server's 500-character limit.
(function () {
  var box = document.getElementById("message");
  if (box) box.maxLength = 500;
})();
