// The site's own script: language switch, time zone, confirmations, and uploads by
// file picker, drag and drop or paste, one request per file with its progress bar.
(function () {
  "use strict";

  // Dates are shown in the browser's time zone (read by the server from this cookie).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone) document.cookie = "tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; samesite=lax";
  } catch (e) { /* old browser: the site's time zone is used */ }

  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-submit-on-change]")) event.target.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("upload");
    if (!form) return;
    var input = form.querySelector("input[type=file]");
    var zone = form.querySelector("[data-drop-zone]");
    var progress = document.getElementById("progress");
    var results = document.getElementById("results");
    var maxBytes = Number(form.getAttribute("data-max-bytes"));

    function field(name) {
      var element = form.elements[name];
      return element ? element.value : "";
    }

    function send(file) {
      var item = document.createElement("li");
      var name = document.createElement("span");
      name.textContent = file.name || "clipboard";
      var bar = document.createElement("progress");
      bar.max = 100;
      bar.value = 0;
      bar.setAttribute("aria-label", name.textContent);
      item.append(name, " ", bar);
      progress.prepend(item);
      if (file.size > maxBytes) {
        fail(item, bar, form.getAttribute("data-too-big").replace("{name}", name.textContent));
        return;
      }
      var data = new FormData();
      data.append("csrfmiddlewaretoken", field("csrfmiddlewaretoken"));
      data.append("model", field("model"));
      data.append("note", field("note"));
      data.append("image", file, file.name || "clipboard.png");
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.setRequestHeader("HX-Request", "true");
      request.upload.addEventListener("progress", function (e) {
        if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
      });
      request.addEventListener("load", function () {
        bar.value = 100;
        var holder = document.createElement("div");
        holder.innerHTML = request.responseText;
        var cards = holder.querySelectorAll(".card");
        var errors = holder.querySelectorAll(".error");
        for (var i = cards.length - 1; i >= 0; i--) {
          results.prepend(cards[i]);
          window.htmx.process(cards[i]);
        }
        if (errors.length) fail(item, bar, Array.prototype.map.call(errors, function (e) { return e.textContent; }).join(" "));
        else if (request.status >= 400) fail(item, bar, request.statusText || String(request.status));
        else item.remove();
      });
      request.addEventListener("error", function () {
        fail(item, bar, form.getAttribute("data-network-error"));
      });
      request.send(data);
    }

    function fail(item, bar, message) {
      bar.remove();
      var text = document.createElement("span");
      text.className = "error";
      text.setAttribute("role", "alert");
      text.textContent = message;
      item.append(text);
    }

    function sendAll(files) {
      Array.prototype.forEach.call(files, send);
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      sendAll(input.files);
      input.value = "";
    });
    form.querySelectorAll("[data-upload]").forEach(function (picker) {
      picker.addEventListener("change", function () {
        sendAll(picker.files);
        picker.value = "";
      });
    });
    ["dragenter", "dragover"].forEach(function (type) {
      zone.addEventListener(type, function (event) {
        event.preventDefault();
        zone.classList.add("dragging");
      });
    });
    ["dragleave", "drop"].forEach(function (type) {
      zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      sendAll(event.dataTransfer.files);
    });
    document.addEventListener("paste", function (event) {
      var files = event.clipboardData ? event.clipboardData.files : [];
      if (files.length) {
        event.preventDefault();
        sendAll(files);
      }
    });
  });
})();
