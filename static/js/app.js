// Small progressive enhancements that HTMX does not cover.
document.addEventListener("htmx:xhr:progress", function (evt) {
  // Upload progress bars: any <progress data-upload-progress> inside the uploading form.
  var bar = evt.target.querySelector && evt.target.querySelector("progress[data-upload-progress]");
  if (bar && evt.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  }
});
document.addEventListener("htmx:afterRequest", function (evt) {
  // The upload is over (answered or failed): hide and reset its bar, and clear the form.
  var form = evt.detail.elt;
  var bar = form && form.querySelector && form.querySelector("progress[data-upload-progress]");
  if (!bar) return;
  bar.hidden = true;
  bar.value = 0;
  if (evt.detail.successful && form.tagName === "FORM") form.reset();
});
document.addEventListener("click", function (evt) {
  // <button data-confirm="..."> asks before a destructive action.
  var el = evt.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { evt.preventDefault(); evt.stopPropagation(); }
}, true);

// Polled fragments keep what the reader did: an opened or closed <details id>, and a
// <... data-follow id> log stays at its end (or where the reader scrolled to) across swaps.
var kept = null;
function follow(el) { el.scrollTop = el.scrollHeight; }
document.addEventListener("htmx:beforeSwap", function (evt) {
  var target = evt.detail.target;
  if (!target || !target.querySelectorAll) return;
  kept = { details: {}, scroll: {} };
  target.querySelectorAll("details[id]").forEach(function (d) { kept.details[d.id] = d.open; });
  target.querySelectorAll("[data-follow][id]").forEach(function (el) {
    var atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
    kept.scroll[el.id] = { top: el.scrollTop, atEnd: atEnd };
  });
});
function restore() {
  if (!kept) return;
  Object.keys(kept.details).forEach(function (id) {
    var d = document.getElementById(id);
    if (d && d.open !== kept.details[id]) d.open = kept.details[id];
  });
  Object.keys(kept.scroll).forEach(function (id) {
    var el = document.getElementById(id);
    if (!el) return;
    if (kept.scroll[id].atEnd) follow(el); else el.scrollTop = kept.scroll[id].top;
  });
}
document.addEventListener("htmx:load", restore);
document.addEventListener("htmx:afterSettle", function () { restore(); kept = null; });
document.addEventListener("toggle", function (evt) {
  // A log opened later starts at its newest lines.
  if (evt.target.open && evt.target.querySelectorAll) evt.target.querySelectorAll("[data-follow]").forEach(follow);
}, true);
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-follow]").forEach(follow);
  // A link to #section inside a closed <details> (e.g. "Upload a CSV") opens it.
  function openHash() {
    var el = location.hash && document.getElementById(location.hash.slice(1));
    var d = el && (el.tagName === "DETAILS" ? el : el.querySelector("details") || el.closest("details"));
    if (d) { d.open = true; el.scrollIntoView(); }
  }
  openHash();
  window.addEventListener("hashchange", openHash);
});

// No inline handlers (the Content-Security-Policy allows no inline script):
// <select data-autosubmit> submits its form when changed; <input data-select-on-click> selects
// its text (a new API token) when clicked.
document.addEventListener("change", function (evt) {
  var el = evt.target.closest && evt.target.closest("[data-autosubmit]");
  if (el && el.form) el.form.submit();
});
document.addEventListener("click", function (evt) {
  var el = evt.target.closest && evt.target.closest("[data-select-on-click]");
  if (el && el.select) el.select();
});
// <button data-copy="id"> copies the text of the element with that id (API call snippets).
document.addEventListener("click", function (evt) {
  var button = evt.target.closest && evt.target.closest("[data-copy]");
  if (!button) return;
  var source = document.getElementById(button.getAttribute("data-copy"));
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.textContent).then(function () {
    var label = button.textContent;
    button.textContent = "Copied";
    setTimeout(function () { button.textContent = label; }, 1500);
  });
});
// Phones: the Menu button shows or hides the navigation (CSS folds it only once this runs).
document.documentElement.classList.add("js");
document.addEventListener("click", function (evt) {
  var button = evt.target.closest && evt.target.closest("[data-menu-toggle]");
  if (!button) return;
  var nav = document.getElementById(button.getAttribute("aria-controls"));
  if (!nav) return;
  var open = nav.classList.toggle("open");
  button.setAttribute("aria-expanded", open ? "true" : "false");
});
// "… is queued" is true only while the job waits: once the live part shows it running (or
// ended), the message goes.
document.addEventListener("htmx:afterSettle", function () {
  var badge = document.querySelector("#live .badge");
  if (!badge || badge.textContent.trim() === "queued") return;
  document.querySelectorAll("[data-while-queued]").forEach(function (el) { el.remove(); });
});
// <input data-filter-options="select-id">: typing hides the select's options that do not match
// (a target among thousands of columns).
document.addEventListener("input", function (evt) {
  var input = evt.target.closest && evt.target.closest("[data-filter-options]");
  if (!input) return;
  var select = document.getElementById(input.getAttribute("data-filter-options"));
  if (!select) return;
  var needle = input.value.trim().toLowerCase();
  Array.prototype.forEach.call(select.options, function (option) {
    option.hidden = needle !== "" && option.value !== "" && option.value.toLowerCase().indexOf(needle) < 0;
  });
});

// The new-experiment form: a change of any [data-refresh] control asks the server to redraw
// the part that depends on it. The listener is on the document, so a control swapped in a
// moment ago works at once; each request carries a sequence number the answer echoes, and an
// answer older than the latest choice is not swapped in over it (it would undo that choice).
var refreshTimer = null;
function askRefresh(control) {
  var form = control.form;
  var seq = form && form.querySelector("#refresh-seq");
  if (!seq || !window.htmx) return;
  seq.value = String(Number(seq.value || "0") + 1);
  form.querySelector("#refresh-changed").value = control.id || control.name || "";
  htmx.trigger(form.querySelector("#refresher"), "refresh");
}
document.addEventListener("change", function (evt) {
  var control = evt.target.closest && evt.target.closest("[data-refresh]");
  if (!control) return;
  clearTimeout(refreshTimer);
  var delay = Number(control.getAttribute("data-refresh-delay") || "0");
  // Arrowing through a select fires a change per option: only the last one, once it rests.
  if (delay) refreshTimer = setTimeout(function () { askRefresh(control); }, delay);
  else askRefresh(control);
});
document.addEventListener("htmx:beforeSwap", function (evt) {
  var target = evt.detail.target;
  if (!target || target.id !== "dynamic") return;
  var seq = document.getElementById("refresh-seq");
  var answer = /data-seq="(\d+)"/.exec(evt.detail.serverResponse || "");
  if (seq && answer && Number(answer[1]) < Number(seq.value)) evt.detail.shouldSwap = false;
});
