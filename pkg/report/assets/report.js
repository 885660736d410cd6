// phonehome HTML report: sortable and filterable tables. No network, no
// eval, no inline handlers (the page's Content-Security-Policy forbids them).
(function () {
  "use strict";
  function cellKey(td) {
    var k = td.getAttribute("data-key");
    return k !== null ? k : td.textContent.trim().toLowerCase();
  }
  function compare(a, b, numeric) {
    if (numeric) {
      var x = parseFloat(a), y = parseFloat(b);
      if (isNaN(x)) x = -Infinity;
      if (isNaN(y)) y = -Infinity;
      return x < y ? -1 : x > y ? 1 : 0;
    }
    return a < b ? -1 : a > b ? 1 : 0;
  }
  function makeSortable(table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.classList.add("sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort");
      function sort() {
        var numeric = th.classList.contains("num") || th.hasAttribute("data-numkey");
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir);
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.forEach(function (r, i) { r._i = i; });
        rows.sort(function (a, b) {
          var c = compare(cellKey(a.cells[col]), cellKey(b.cells[col]), numeric);
          if (dir === "descending") c = -c;
          return c || a._i - b._i;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  }
  function makeFilterable(table) {
    var input = document.createElement("input");
    input.type = "search";
    input.className = "filter";
    input.placeholder = "Filter rows\u2026";
    input.setAttribute("aria-label", "Filter " + (table.getAttribute("aria-label") || "table"));
    var wrap = table.parentNode;
    wrap.parentNode.insertBefore(input, wrap);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(table.tBodies[0].rows, function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.data"), function (t) {
    if (!t.tBodies.length) return;
    makeSortable(t);
    if (t.tBodies[0].rows.length > 1) makeFilterable(t);
  });
  document.documentElement.classList.add("js");
})();
