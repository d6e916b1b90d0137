// Upload with progress, drag and drop, extra participants, and recording in the browser.
"use strict";
(function () {
  var form = document.getElementById("upload-form");
  if (!form) { return; }
  var input = document.getElementById("audio");
  var zone = document.getElementById("drop-zone");
  var fileName = document.getElementById("file-name");
  var errorBox = document.getElementById("upload-error");
  var bar = document.getElementById("upload-progress");
  var recorded = null;

  function showError(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    errorBox.scrollIntoView({ block: "center" });
  }

  var visitType = document.getElementById("visit_type");
  var warning = document.getElementById("visit-type-warning");
  function checkVisitType() {
    var option = visitType.options[visitType.selectedIndex];
    var reason = option ? option.getAttribute("data-forbidden") : null;
    warning.textContent = reason || "";
    warning.hidden = !reason;
  }
  var visitTypeError = document.getElementById("visit-type-error");
  visitType.addEventListener("change", function () {
    checkVisitType();
    if (visitType.value) { visitTypeError.hidden = true; visitType.removeAttribute("aria-invalid"); }
  });
  checkVisitType();

  document.getElementById("add-participant").addEventListener("click", function () {
    var rows = document.getElementById("participant-rows");
    var index = rows.children.length;
    var row = rows.children[0].cloneNode(true);
    row.querySelectorAll("input, select").forEach(function (el) {
      if (el.type === "checkbox") { el.checked = false; el.value = String(index); }
      else if (el.tagName === "SELECT") { el.selectedIndex = 0; }
      else { el.value = ""; }
      if (el.hasAttribute("aria-label")) {
        el.setAttribute("aria-label", el.getAttribute("aria-label").replace(/\d+/, String(index + 1)));
      }
    });
    rows.appendChild(row);
    row.querySelector("input").focus();
  });

  input.addEventListener("change", function () {
    recorded = null;
    fileName.textContent = input.files.length ? "Chosen: " + input.files[0].name : "";
  });
  ["dragenter", "dragover"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.add("dragging"); });
  });
  ["dragleave", "drop"].forEach(function (name) {
    zone.addEventListener(name, function (e) { e.preventDefault(); zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (e) {
    if (e.dataTransfer && e.dataTransfer.files.length) {
      input.files = e.dataTransfer.files;
      input.dispatchEvent(new Event("change"));
    }
  });

  var start = document.getElementById("record-start");
  var stop = document.getElementById("record-stop");
  var state = document.getElementById("record-state");
  var recorder = null;
  start.addEventListener("click", function () {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      state.textContent = "This browser cannot record; upload a file instead.";
      return;
    }
    navigator.mediaDevices.getUserMedia({ audio: true }).then(function (stream) {
      var chunks = [];
      var type = MediaRecorder.isTypeSupported("audio/webm;codecs=opus") ? "audio/webm;codecs=opus" : "";
      recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
      recorder.ondataavailable = function (e) { if (e.data.size) { chunks.push(e.data); } };
      recorder.onstop = function () {
        stream.getTracks().forEach(function (t) { t.stop(); });
        recorded = new Blob(chunks, { type: "audio/webm" });
        state.textContent = "Recorded " + Math.round(recorded.size / 1024) + " KiB; it will be uploaded with the form.";
        fileName.textContent = "";
      };
      recorder.start(1000);
      start.disabled = true; stop.disabled = false;
      state.textContent = "Recording…";
    }).catch(function () {
      state.textContent = "The microphone could not be used; check the browser's permission.";
    });
  });
  stop.addEventListener("click", function () {
    if (recorder) { recorder.stop(); }
    start.disabled = false; stop.disabled = true;
  });

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    errorBox.hidden = true;
    // No visit type is chosen for the worker: say so beside the list, and go there.
    if (!visitType.value) {
      visitTypeError.textContent = visitType.getAttribute("data-missing");
      visitTypeError.hidden = false;
      visitType.setAttribute("aria-invalid", "true");
      visitType.scrollIntoView({ block: "center" });
      visitType.focus({ preventScroll: true });
      return;
    }
    // Refused before a large file is sent, not after: the server would refuse it too.
    var chosen = visitType.options[visitType.selectedIndex];
    var forbidden = chosen ? chosen.getAttribute("data-forbidden") : null;
    if (forbidden) { showError(forbidden + " Nothing was uploaded."); return; }
    var data = new FormData(form);
    if (recorded) { data.set("audio", recorded, "browser-recording.webm"); }
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", window.carenotes.csrfToken());
    bar.hidden = false; bar.value = 0;
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) { bar.value = Math.round(100 * ev.loaded / ev.total); }
    });
    xhr.onload = function () {
      var body = {};
      try { body = JSON.parse(xhr.responseText); } catch (err) { body = {}; }
      if (xhr.status >= 200 && xhr.status < 300 && body.url) { window.location.assign(body.url); return; }
      bar.hidden = true;
      showError(body.error || "The upload failed (" + xhr.status + "). Nothing was stored.");
    };
    xhr.onerror = function () { bar.hidden = true; showError("The upload was interrupted. Nothing was stored; try again."); };
    xhr.send(data);
  });
})();
