// The review screen: autosave edits, resolve flags, add, restore and move statements,
// mark sections reviewed, rename speakers, play cited moments, and enable Approve only
// when allowed.
"use strict";
(function () {
  var root = document.getElementById("review");
  if (!root) { return; }
  var base = root.getAttribute("data-base");
  var editable = root.getAttribute("data-editable") === "yes";
  var player = document.getElementById("player");
  var saveState = document.getElementById("save-state");
  var errorBox = document.getElementById("review-error");
  var queue = Promise.resolve();

  function version() { return parseInt(root.getAttribute("data-version"), 10); }
  function setVersion(v) {
    root.setAttribute("data-version", String(v));
    // Every form posting to the note says which version it was written against.
    document.querySelectorAll(".version-field").forEach(function (field) { field.value = String(v); });
  }
  function showError(message) { errorBox.textContent = message; errorBox.hidden = false; }

  // Changes go one at a time, each carrying the version the previous one produced.
  function send(path, body) {
    queue = queue.then(function () {
      body.version = version();
      saveState.textContent = "Saving…";
      return window.carenotes.postJSON(base + path, body).then(function (data) {
        setVersion(data.version);
        errorBox.hidden = true;
        saveState.textContent = "All changes saved.";
        return data;
      });
    }).catch(function (error) {
      saveState.textContent = "Not saved.";
      showError(error.message);
      throw error;
    });
    var mine = queue;
    queue = queue.catch(function () {});
    return mine;
  }

  var labels = { confirmed: "Confirmed against audio", edited: "Edited", deleted: "Deleted", open: "Needs checking", ok: "", added: "" };

  // Text boxes grow with their text, so a long statement is read whole.
  function grow(box) {
    box.style.height = "auto";
    box.style.height = (box.scrollHeight + 2) + "px";
  }
  function growing(box) {
    grow(box);
    box.addEventListener("input", function () { grow(box); });
  }
  document.querySelectorAll("textarea.grow").forEach(growing);

  // Move up and Move down are off at the ends of a section's list.
  function refreshMoves(list) {
    var items = list.querySelectorAll(":scope > .item");
    items.forEach(function (item, index) {
      var up = item.querySelector(".move-up");
      var down = item.querySelector(".move-down");
      if (up) { up.disabled = index === 0; }
      if (down) { down.disabled = index === items.length - 1; }
    });
  }
  function setStatus(item, status) {
    item.setAttribute("data-status", status);
    item.className = item.className.replace(/status-\S+/, "status-" + status);
    item.querySelector(".item-status").textContent = labels[status] || "";
    var confirm = item.querySelector(".confirm");
    if (confirm) { confirm.hidden = status !== "open"; }
    var del = item.querySelector(".delete");
    if (del) { del.hidden = status === "deleted"; }
    var restore = item.querySelector(".restore");
    if (restore) { restore.hidden = status !== "deleted"; }
    var text = item.querySelector(".item-text");
    if (text) { text.disabled = status === "deleted"; }
    refreshApproval();
  }

  // The button just used is hidden now: keep keyboard and screen-reader users in
  // place by moving focus to what says the outcome, which is read out.
  function focusOn(element) {
    if (!element) { return; }
    element.setAttribute("tabindex", "-1");
    element.focus();
  }

  function refreshApproval() {
    // Everyone reviewing a draft sees what still stands in the way; only an
    // approver also has the button.
    var button = document.getElementById("approve-button");
    var list = document.getElementById("blockers");
    if (!list) { return; }
    var open = document.querySelectorAll('.item[data-flagged="yes"][data-status="open"]').length;
    var unreviewed = [];
    document.querySelectorAll(".note-section").forEach(function (s) {
      if (!s.classList.contains("reviewed")) { unreviewed.push(s.querySelector("h3").textContent); }
    });
    list.innerHTML = "";
    function add(text) { var li = document.createElement("li"); li.textContent = text; list.appendChild(li); }
    if (open) { add((open === 1 ? "1 flagged statement still needs" : open + " flagged statements still need") + " checking: confirm each against the audio, edit it or delete it."); }
    if (unreviewed.length) { add("Sections not yet marked reviewed: " + unreviewed.join(", ") + "."); }
    if (button) { button.disabled = open > 0 || unreviewed.length > 0; }
    var sendButton = document.getElementById("send-button");
    if (sendButton) { sendButton.disabled = open > 0 || unreviewed.length > 0; }
  }

  function wireItem(item) {
    var id = item.getAttribute("data-item");
    var path = "/items/" + encodeURIComponent(id);
    var text = item.querySelector(".item-text");
    var timer = null;
    if (text) { text.dataset.saved = text.value; }
    function save() {
      window.clearTimeout(timer);
      if (!text || text.value === text.dataset.saved) { return; }
      if (!text.value.trim()) {
        // Not sent: an empty statement is not a change the server keeps.
        saveState.textContent = "Not saved.";
        showError("A statement cannot be empty. Type the corrected statement, or use Delete to remove it.");
        return;
      }
      var value = text.value;
      send(path, { action: "edit", text: value }).then(function () {
        text.dataset.saved = value;
        setStatus(item, item.classList.contains("by-practitioner") ? "added" : "edited");
      }, function () {});
    }
    if (text) {
      text.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(save, 1200); });
      text.addEventListener("blur", save);
    }
    var confirm = item.querySelector(".confirm");
    if (confirm) {
      confirm.addEventListener("click", function () {
        send(path, { action: "confirm" }).then(function () { setStatus(item, "confirmed"); focusOn(item.querySelector(".item-status")); }, function () {});
      });
    }
    var del = item.querySelector(".delete");
    if (del) {
      del.addEventListener("click", function () {
        send(path, { action: "delete" }).then(function () { setStatus(item, "deleted"); focusOn(item.querySelector(".item-status")); }, function () {});
      });
    }
    var restore = item.querySelector(".restore");
    if (restore) {
      restore.addEventListener("click", function () {
        send(path, { action: "restore" }).then(function (data) {
          setStatus(item, data.status);
          saveState.textContent = "The statement was restored.";
          focusOn(item.querySelector(".item-text") || item.querySelector(".item-status"));
        }, function () {});
      });
    }
    ["up", "down"].forEach(function (direction) {
      var button = item.querySelector(".move-" + direction);
      if (!button) { return; }
      button.addEventListener("click", function () {
        send(path + "/move", { direction: direction }).then(function () {
          var list = item.parentNode;
          if (direction === "up" && item.previousElementSibling) {
            list.insertBefore(item, item.previousElementSibling);
          } else if (direction === "down" && item.nextElementSibling) {
            list.insertBefore(item.nextElementSibling, item);
          }
          refreshMoves(list);
          saveState.textContent = "The statement was moved " + direction + ".";
          // Stay on the button just used, or its partner once at the end of the list.
          focusOn(button.disabled ? item.querySelector(direction === "up" ? ".move-down" : ".move-up") : button);
        }, function () {});
      });
    });
  }

  function addStatement(form) {
    var section = form.closest(".note-section");
    var box = form.querySelector("textarea");
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var value = box.value.trim();
      if (!value) {
        showError("Type the statement to add first.");
        focusOn(box);
        return;
      }
      send("/sections/" + encodeURIComponent(form.getAttribute("data-section")) + "/statements", { text: value }).then(function (data) {
        var item = document.getElementById("added-item").content.firstElementChild.cloneNode(true);
        item.id = "item-" + data.item;
        item.setAttribute("data-item", data.item);
        var text = item.querySelector(".item-text");
        text.id = "text-" + data.item;
        text.value = value;
        item.querySelector("label").setAttribute("for", text.id);
        var list = section.querySelector(".items");
        list.appendChild(item);
        wireItem(item);
        growing(text);
        refreshMoves(list);
        var hint = section.querySelector(".empty-hint");
        if (hint) { hint.hidden = true; }
        box.value = "";
        grow(box);
        saveState.textContent = "Your statement was added.";
        box.focus();
      }, function () {});
    });
  }

  if (editable) {
    document.querySelectorAll(".item").forEach(wireItem);
    document.querySelectorAll(".add-statement").forEach(addStatement);
    document.querySelectorAll(".mark-reviewed").forEach(function (button) {
      var section = button.closest(".note-section");
      button.addEventListener("click", function () {
        send("/sections/" + encodeURIComponent(section.getAttribute("data-section")) + "/reviewed", {})
          .then(function () {
            section.classList.add("reviewed");
            button.hidden = true;
            section.querySelector(".reviewed-label").hidden = false;
            focusOn(section.querySelector(".reviewed-label"));
            refreshApproval();
          }, function () {});
      });
    });
    document.querySelectorAll(".speaker-form").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        e.preventDefault();
        var label = form.getAttribute("data-label");
        var name = form.querySelector("input").value;
        send("/speakers", { label: label, name: name }).then(function (data) {
          document.querySelectorAll('.speaker[data-label="' + label + '"]').forEach(function (s) { s.textContent = name; });
          // The server put the name into the draft's statements too: show them, leaving
          // alone any statement with a change still being typed.
          Object.keys(data.items || {}).forEach(function (id) {
            var box = document.getElementById("text-" + id);
            if (box && box.value === box.dataset.saved) { box.value = data.items[id]; box.dataset.saved = data.items[id]; grow(box); }
          });
        }, function () {});
      });
    });
  }

  // Citations: play that moment and highlight the segment it rests on.
  function highlight(segmentId) {
    document.querySelectorAll(".segment.playing").forEach(function (s) { s.classList.remove("playing"); });
    var seg = document.getElementById("seg-" + segmentId);
    if (seg) { seg.classList.add("playing"); seg.scrollIntoView({ block: "nearest", behavior: "smooth" }); }
  }
  document.querySelectorAll(".cite").forEach(function (button) {
    button.addEventListener("click", function () {
      highlight(button.getAttribute("data-segment"));
      if (player) {
        player.currentTime = parseFloat(button.getAttribute("data-start"));
        player.play().catch(function () {});
      }
    });
  });
  if (player) {
    player.addEventListener("timeupdate", function () {
      var t = player.currentTime;
      document.querySelectorAll(".segment").forEach(function (seg) {
        var on = t >= parseFloat(seg.getAttribute("data-start")) && t < parseFloat(seg.getAttribute("data-end"));
        seg.classList.toggle("current", on);
      });
    });
  }

  var copy = document.getElementById("copy-note");
  if (copy) {
    copy.addEventListener("click", function () {
      var text = document.getElementById("approved-text").textContent;
      navigator.clipboard.writeText(text).then(function () { saveState.textContent = "The note was copied."; },
        function () { showError("The browser did not allow copying; download the text instead."); });
    });
  }
  var approveForm = document.getElementById("approve-form");
  if (approveForm && document.getElementById("approve-error")) {
    // A refused approval: the reason is beside the password box; bring both into view
    // and put the cursor in the box for another try (or on the button, for someone who
    // signs in again at their council's sign-in service instead).
    var retry = document.getElementById("approve-password") || document.getElementById("approve-button");
    document.getElementById("approve-error").scrollIntoView({ block: "center" });
    retry.focus({ preventScroll: true });
  }
  if (approveForm) {
    approveForm.addEventListener("submit", function () {
      // A second click while the first is on its way does nothing.
      window.setTimeout(function () { document.getElementById("approve-button").disabled = true; }, 0);
    });
  }
  refreshApproval();
})();
