// Progressive enhancement only: every page works without this file.
// Sorting by a column header, filters that apply when changed, and a live "now on the site"
// panel that refreshes itself.
(function () {
  "use strict";
  function cellValue(row, index, numeric) {
    var text = (row.cells[index] && row.cells[index].textContent || "").trim();
    if (!numeric) return text.toLowerCase();
    var n = parseFloat(text.replace(/,/g, ""));
    return isNaN(n) ? -Infinity : n;
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("th[data-sort]").forEach(function (th, _, all) {
      th.addEventListener("click", function () {
        var index = Array.prototype.indexOf.call(th.parentNode.children, th);
        var numeric = th.dataset.sort === "num";
        var down = th.dataset.dir !== "desc";
        th.dataset.dir = down ? "desc" : "asc";
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = cellValue(a, index, numeric), y = cellValue(b, index, numeric);
          return (x < y ? -1 : x > y ? 1 : 0) * (down ? -1 : 1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
  var filters = document.getElementById("filters");
  if (filters) {
    filters.querySelectorAll("select, input[type=checkbox]").forEach(function (el) {
      el.addEventListener("change", function () { filters.submit(); });
    });
  }
  var live = document.querySelector("[data-live]");
  if (live && window.fetch && window.DOMParser) {
    var seconds = parseInt(live.dataset.live, 10) || 30;
    setInterval(function () {
      if (document.hidden) return;
      fetch(location.href, { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.querySelector("[data-live]");
          if (fresh) live.replaceWith(fresh), live = fresh;
        })
        .catch(function () {});
    }, seconds * 1000);
  }
})();
