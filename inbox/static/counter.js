// The counter screen: the rotating QR's countdown, the undo button's countdown, and scanning a
// member QR or a coupon QR with the tablet's camera (jsQR reads the frames). Everything else is
// htmx. No inline scripts: the Content-Security-Policy forbids them.
(function () {
  "use strict";
  var main = document.querySelector("main.counter");
  if (!main) return;
  var SCAN_EVERY_MS = 150;
  var SCAN_WIDTH = 640;

  // Countdowns count from when the fragment arrived, so the tablet's clock does not matter.
  function arm(root) {
    root.querySelectorAll("[data-countdown]:not([data-deadline])").forEach(function (el) {
      el.dataset.deadline = String(Date.now() + Number(el.textContent) * 1000);
    });
    root.querySelectorAll("[data-undo-seconds]:not([data-deadline])").forEach(function (form) {
      form.dataset.deadline = String(Date.now() + Number(form.dataset.undoSeconds) * 1000);
    });
  }
  function secondsLeft(el) {
    return Math.max(0, Math.ceil((Number(el.dataset.deadline) - Date.now()) / 1000));
  }
  function tick() {
    arm(document); // fragments swapped in since the last tick
    document.querySelectorAll("[data-countdown][data-deadline]").forEach(function (el) {
      el.textContent = String(secondsLeft(el));
    });
    document.querySelectorAll("form[data-undo-seconds][data-deadline]").forEach(function (form) {
      var left = secondsLeft(form);
      var label = form.querySelector("[data-undo-left]");
      if (label) label.textContent = Math.floor(left / 60) + ":" + String(left % 60).padStart(2, "0");
      if (left === 0) form.hidden = true;
    });
  }
  arm(document);
  document.addEventListener("htmx:afterSettle", tick);
  setInterval(tick, 1000);
  tick();

  // Camera scanning.
  var video = document.getElementById("scanner-video");
  var panel = document.getElementById("scanner");
  var startButton = document.getElementById("scan-start");
  var stopButton = document.getElementById("scan-stop");
  var error = document.getElementById("scanner-error");
  var canvas = document.createElement("canvas");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var stream = null;
  var timer = null;

  function showError(message) {
    error.textContent = message || startButton.dataset.cameraError;
    error.hidden = false;
  }
  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    panel.hidden = true;
    startButton.disabled = false;
  }
  function lookUp(text) {
    var url = main.dataset.findUrl + "?scanned=1&q=" + encodeURIComponent(text);
    document.getElementById("counter-q").value = text;
    window.htmx.ajax("GET", url, { target: "#counter-result" });
  }
  function scan() {
    timer = null;
    if (!stream) return;
    if (video.readyState >= video.HAVE_CURRENT_DATA && video.videoWidth) {
      var scale = Math.min(1, SCAN_WIDTH / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      context.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      var found = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "attemptBoth" });
      if (found && found.data) {
        stop();
        lookUp(found.data.trim());
        return;
      }
    }
    timer = setTimeout(scan, SCAN_EVERY_MS);
  }
  function start() {
    error.hidden = true;
    var media = navigator.mediaDevices;
    if (!media || !media.getUserMedia || typeof window.jsQR !== "function") { showError(); return; }
    startButton.disabled = true;
    media.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (got) {
      stream = got;
      video.srcObject = got;
      panel.hidden = false;
      return video.play();
    }).then(scan).catch(function () { stop(); showError(); });
  }
  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
  document.addEventListener("visibilitychange", function () { if (document.hidden) stop(); });
})();
