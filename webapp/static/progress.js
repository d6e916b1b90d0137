// Polls the job's stage and percentage until the draft is ready.
"use strict";
(function () {
  var box = document.getElementById("progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var stage = document.getElementById("progress-stage");
  var bar = document.getElementById("progress-bar");
  var error = document.getElementById("progress-error");
  var retry = document.getElementById("retry-form");
  var names = {
    queued: "Waiting for the worker", starting: "Starting", "loading models": "Loading the models",
    transcribing: "Transcribing", "waiting to draft": "Transcribed; waiting for the drafting worker",
    drafting: "Drafting the note", saving: "Saving", done: "Done",
    failed: "Failed"
  };
  function poll() {
    fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.review_url) { window.location.assign(s.review_url); return; }
        stage.textContent = (names[s.stage] || s.stage) + " – " + s.percent + "%";
        bar.value = s.percent;
        if (s.state === "failed") {
          error.textContent = s.error || "Processing failed.";
          error.hidden = false;
          if (retry) { retry.hidden = false; }
          return;
        }
        window.setTimeout(poll, 1500);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  poll();
})();
