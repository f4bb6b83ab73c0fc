// The inbox's behaviour: live timeline, reply box (Enter to send, canned responses, no double
// sends), keyboard shortcuts. No inline scripts: the Content-Security-Policy forbids them.
(function () {
  "use strict";
  var POLL_MS = 3000;
  var csrf = document.body.dataset.csrf;

  function paintTags(root) {
    root.querySelectorAll("[data-color]").forEach(function (el) {
      el.style.setProperty("--tag", el.dataset.color);
    });
  }

  function isTyping(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  }

  function fragment(html) {
    var template = document.createElement("template");
    template.innerHTML = html;
    return template.content;
  }

  // Timeline: new items are appended, items already shown (a delivery status changed) replaced.
  function setUpTimeline(timeline) {
    var pollUrl = timeline.dataset.pollUrl;
    var busy = false;

    function nearBottom() {
      return timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 120;
    }
    function fromId() {
      var pending = timeline.querySelector(".item[data-pending]");
      if (pending) return pending.dataset.id;
      var items = timeline.querySelectorAll(".item[data-id]");
      return items.length ? Number(items[items.length - 1].dataset.id) + 1 : 0;
    }
    function merge(html) {
      var stick = nearBottom();
      Array.prototype.slice.call(fragment(html).children).forEach(function (item) {
        var existing = document.getElementById(item.id);
        if (existing) existing.replaceWith(item);
        else timeline.appendChild(item);
        paintTags(item);
      });
      if (stick) timeline.scrollTop = timeline.scrollHeight;
    }
    function poll() {
      if (busy || document.hidden) return Promise.resolve();
      busy = true;
      return fetch(pollUrl + "?from_id=" + fromId(), { credentials: "same-origin" })
        .then(function (r) { if (r.status === 401) { location.reload(); } return r.ok ? r.text() : ""; })
        .then(function (html) { if (html.trim()) merge(html); })
        .catch(function () { /* offline for a moment: the next poll catches up */ })
        .finally(function () { busy = false; });
    }
    timeline.addEventListener("click", function (event) {
      var button = event.target.closest("[data-older-url]");
      if (!button) return;
      button.disabled = true;
      fetch(button.dataset.olderUrl, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var height = timeline.scrollHeight;
        button.replaceWith(fragment(html));
        paintTags(timeline);
        timeline.scrollTop += timeline.scrollHeight - height;
      });
    });
    timeline.addEventListener("submit", function (event) {
      var form = event.target.closest("form[data-retry]");
      if (!form) return;
      event.preventDefault();
      send(form).then(poll);
    });
    timeline.scrollTop = timeline.scrollHeight;
    setInterval(poll, POLL_MS);
    return poll;
  }

  function send(form) {
    return fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { "X-Requested-With": "fetch", "X-CSRF-Token": csrf },
    });
  }

  // Reply box: Enter sends, Shift+Enter breaks the line, /shortcut + Tab inserts a canned text.
  function setUpReply(form, pollNow) {
    var text = form.querySelector("textarea[name=text]");
    var button = form.querySelector("button[type=submit]");
    var error = form.querySelector("#reply-error");
    var canned = {};
    form.querySelectorAll("#canned-data li").forEach(function (li) { canned[li.dataset.shortcut] = li.textContent; });
    var sending = false;

    function insertCanned(shortcut, replaceTyped) {
      var body = canned[shortcut];
      if (body === undefined) return false;
      if (replaceTyped) {
        text.value = text.value.replace(/\/[\w-]+$/, body);
      } else {
        text.value += (text.value && !text.value.endsWith("\n") ? "\n" : "") + body;
      }
      text.focus();
      return true;
    }
    function submit() {
      if (sending || !text.value.trim()) return;
      sending = true;
      button.disabled = true;
      error.textContent = "";
      send(form).then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      }).then(function (result) {
        if (result.ok) {
          text.value = "";
          form.querySelector("input[name=reply_token]").value = result.body.next_reply_token;
          pollNow();
        } else {
          error.textContent = result.body.error || "";
        }
      }).catch(function () {
        error.textContent = form.dataset.networkError || "Network error: not sent. Try again.";
      }).finally(function () {
        sending = false;
        button.disabled = false;
      });
    }
    form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    text.addEventListener("keydown", function (event) {
      if (event.isComposing || event.keyCode === 229) return; // Japanese IME is converting
      if (event.key === "Enter" && !event.shiftKey && !event.altKey) {
        event.preventDefault();
        submit();
      } else if (event.key === "Tab") {
        var typed = text.value.match(/\/([\w-]+)$/);
        if (typed && insertCanned(typed[1], true)) event.preventDefault();
      }
    });
    var select = form.querySelector("#canned-select");
    if (select) select.addEventListener("change", function () { insertCanned(select.value, false); select.value = ""; });
  }

  // j / k move through the conversation list; "/" jumps to search.
  function setUpKeys() {
    document.addEventListener("keydown", function (event) {
      if (isTyping(document.activeElement) || event.ctrlKey || event.metaKey || event.altKey) return;
      if (event.key === "/") {
        var search = document.querySelector("[data-shortcut='/']");
        if (search) { event.preventDefault(); search.focus(); }
        return;
      }
      if (event.key !== "j" && event.key !== "k") return;
      var links = Array.prototype.slice.call(document.querySelectorAll(".conversations a"));
      var current = links.findIndex(function (a) { return a.parentElement.classList.contains("selected"); });
      var next = links[current + (event.key === "j" ? 1 : -1)] || links[0];
      if (next) location.href = next.href;
    });
  }

  document.addEventListener("change", function (event) {
    if (event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.dataset && event.target.dataset.confirm;
    if (message && !window.confirm(message)) event.preventDefault();
  });
  document.addEventListener("htmx:afterSwap", function (event) { paintTags(event.target); });

  // The segment builder's rows are redrawn by the server and the form is disabled meanwhile,
  // which drops the focus: put it back on the control that had it.
  var refocusId = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.target.closest("#builder")) refocusId = document.activeElement && document.activeElement.id;
  });
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.target.id !== "builder") return;
    var again = refocusId && document.getElementById(refocusId);
    refocusId = null;
    if (again && (!document.activeElement || document.activeElement === document.body)) again.focus();
  });

  paintTags(document);
  setUpKeys();
  var timeline = document.getElementById("timeline");
  var pollNow = timeline ? setUpTimeline(timeline) : function () {};
  var reply = document.getElementById("reply-form");
  if (reply) setUpReply(reply, pollNow);
})();

// Stickers come from LINE's CDN; where it cannot be reached (offline, the sandbox) a sticker
// shows its keywords or "スタンプ" instead of a broken image.
(function () {
  function fallBack(img) {
    var label = document.createElement("span");
    label.className = "sticker-fallback";
    label.textContent = img.getAttribute("data-fallback") || img.alt;
    img.replaceWith(label);
  }
  document.addEventListener("error", function (event) {
    var img = event.target;
    if (img instanceof HTMLImageElement && img.classList.contains("sticker")) fallBack(img);
  }, true);
  document.querySelectorAll("img.sticker").forEach(function (img) {
    if (img.complete && img.naturalWidth === 0 && img.getAttribute("src")) fallBack(img);
  });
})();
