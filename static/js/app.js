// Small progressive enhancements that HTMX does not cover.
document.addEventListener("htmx:xhr:progress", function (evt) {
  // Upload progress bars: any <progress data-upload-progress> inside the uploading form.
  var bar = evt.target.querySelector && evt.target.querySelector("progress[data-upload-progress]");
  if (bar && evt.detail.lengthComputable) {
    bar.hidden = false;
    bar.value = Math.round((evt.detail.loaded / evt.detail.total) * 100);
  }
});
document.addEventListener("click", function (evt) {
  // <button data-confirm="..."> asks before a destructive action.
  var el = evt.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { evt.preventDefault(); evt.stopPropagation(); }
}, true);
