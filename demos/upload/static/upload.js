// Sends the form with XMLHttpRequest so the page can show the upload's progress.
(function () {
  "use strict";
  var form = document.getElementById("upload");
  var prefix = form.dataset.prefix;
  var bar = document.getElementById("progress");
  var percent = document.getElementById("percent");
  var status = document.getElementById("status");
  var rows = document.querySelector("#uploaded tbody");
  var button = document.getElementById("send");

  function sizeText(size) {
    var units = ["bytes", "KB", "MB", "GB"];
    var unit = 0;
    while (size >= 1024 && unit < units.length - 1) {
      size /= 1024;
      unit += 1;
    }
    return unit === 0 ? size + " bytes" : size.toFixed(1) + " " + units[unit];
  }

  function addRow(file) {
    var row = rows.insertRow();
    var link = document.createElement("a");
    link.href = prefix + "/files/" + encodeURIComponent(file.stored);
    link.textContent = file.name;
    row.insertCell().appendChild(link);
    var size = row.insertCell();
    size.textContent = sizeText(file.size);
    size.title = file.size + " bytes";
    row.insertCell().textContent = file.sha256;
    row.cells[0].className = "name";
    row.cells[1].className = "size";
    row.cells[2].className = "sha256";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    var events = 0;
    request.open("POST", prefix + "/upload");
    // The token xsrf_form_html() put in the form; a streamed body is checked from this header.
    request.setRequestHeader("X-XSRFToken", form.elements._xsrf.value);
    request.setRequestHeader("Accept", "application/json");
    request.responseType = "json";
    request.upload.addEventListener("progress", function (progress) {
      events += 1;
      if (!progress.lengthComputable) return;
      bar.max = progress.total;
      bar.value = progress.loaded;
      percent.textContent = Math.floor((100 * progress.loaded) / progress.total) + "%";
      bar.dataset.events = events;
      bar.dataset.loaded = progress.loaded;
      bar.dataset.total = progress.total;
    });
    request.addEventListener("load", function () {
      button.disabled = false;
      if (request.status !== 200 || !request.response) {
        status.textContent = "Upload failed (HTTP " + request.status + ")";
        return;
      }
      request.response.files.forEach(addRow);
      status.textContent = "Uploaded " + request.response.files.length + " file(s).";
      form.reset();
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      status.textContent = "Upload failed: the connection broke.";
    });
    button.disabled = true;
    bar.value = 0;
    percent.textContent = "0%";
    status.textContent = "Uploading…";
    request.send(new FormData(form));
  });
})();
