// audit report: sortable tables and the hotspot table. Plain DOM, no framework, no network.
// Text from the audited tree is only ever set through textContent, never as HTML.
"use strict";

(function () {
  function cellValue(td) {
    var v = td.getAttribute("data-v");
    if (v === null) v = td.textContent.trim();
    var n = Number(v.replace(/,/g, ""));
    return v !== "" && !isNaN(n) ? n : v.toLowerCase();
  }

  function compare(a, b) {
    if (typeof a === typeof b) return a < b ? -1 : a > b ? 1 : 0;
    return typeof a === "number" ? -1 : 1;
  }

  function markSorted(ths, th, dir) {
    ths.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
  }

  // Static tables: click a header to sort its rows; click again to reverse.
  function makeSortable(table) {
    var ths = Array.prototype.slice.call(table.querySelectorAll("thead th"));
    ths.forEach(function (th, col) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (r1, r2) {
          return dir * compare(cellValue(r1.cells[col]), cellValue(r2.cells[col]));
        });
        var frag = document.createDocumentFragment();
        rows.forEach(function (r) { frag.appendChild(r); });
        body.appendChild(frag);
        markSorted(ths, th, dir);
      });
    });
  }

  function initSortable() {
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), makeSortable);
  }

  // Source pages: a row holds a run of lines, and only lines other pages link to have a
  // row (and an id) of their own, which keeps a 200k-line report megabytes lighter. A
  // link to a line inside a run splits the run here, moving its nodes (never re-parsing).
  var source = null;
  function codeRows() {
    return source.querySelectorAll("tbody > tr:not(.uh):not(.fx)");
  }
  function runOf(row) {
    var nums = row.cells[0].textContent.split("\n");
    return { first: Number(nums[0]), nums: nums };
  }
  function numberRuns() {  // the page carries each run's first number only
    Array.prototype.forEach.call(codeRows(), function (row) {
      var first = Number(row.cells[0].textContent);
      var count = row.cells[1].textContent.split("\n").length, nums = [];
      for (var i = 0; i < count; i++) nums.push(first + i);
      row.cells[0].textContent = nums.join("\n");
    });
  }
  function lineNodes(cell) {  // the cell's nodes, one fragment per line
    var lines = [document.createDocumentFragment()];
    Array.prototype.slice.call(cell.childNodes).forEach(function (node) {
      if (node.nodeType !== 3) { lines[lines.length - 1].appendChild(node); return; }
      node.data.split("\n").forEach(function (part, i) {
        if (i > 0) lines.push(document.createDocumentFragment());
        if (part) lines[lines.length - 1].appendChild(document.createTextNode(part));
      });
    });
    return lines;
  }
  function makeRow(nums, frags) {
    var tr = document.createElement("tr"), a = document.createElement("td");
    var b = document.createElement("td");
    a.textContent = nums.join("\n");
    frags.forEach(function (f, i) {
      if (i > 0) b.appendChild(document.createTextNode("\n"));
      b.appendChild(f);
    });
    tr.appendChild(a);
    tr.appendChild(b);
    return tr;
  }
  function isolate(n) {  // the row of line n alone, splitting its run; null if none
    var rows = codeRows();
    for (var i = 0; i < rows.length; i++) {
      var row = rows[i], run = runOf(row), k = n - run.first;
      if (k < 0 || k >= run.nums.length) continue;
      if (run.nums.length === 1) return row;
      var frags = lineNodes(row.cells[1]), mine = null;
      [[0, k], [k, k + 1], [k + 1, run.nums.length]].forEach(function (p) {
        if (p[0] === p[1]) return;
        var tr = makeRow(run.nums.slice(p[0], p[1]), frags.slice(p[0], p[1]));
        if (p[0] === k) mine = tr;
        row.parentNode.insertBefore(tr, row);
      });
      row.parentNode.removeChild(row);
      return mine;
    }
    return null;
  }
  function goLine(n) {  // mark line n and scroll to it; false when the page has no such line
    var old = source ? source.querySelector("tr.target") : null;
    if (old) old.classList.remove("target");
    var row = source && (document.getElementById("L" + n) || isolate(n));
    if (!row) return false;
    row.id = "L" + n;
    row.classList.add("target");  // :target does not follow an id set after navigation
    row.scrollIntoView();
    return true;
  }
  function initSource(onLine) {
    source = document.querySelector("table.source");
    if (!source) return;
    numberRuns();
    source.addEventListener("click", function (ev) {
      var cell = ev.target.closest ? ev.target.closest("td:first-child") : null;
      if (!cell || !cell.parentNode.matches("tr:not(.uh):not(.fx)")) return;
      var run = runOf(cell.parentNode), box = cell.getBoundingClientRect();
      var k = Math.floor((ev.clientY - box.top) / (box.height / run.nums.length));
      onLine(run.first + Math.max(0, Math.min(k, run.nums.length - 1)));
    });
  }

  // A file's function table, from embedded rows when the file has many functions.
  function initFunctions() {
    var fnData = document.getElementById("fn-data");
    if (!fnData) return;
    var fnBody = document.getElementById("fn-rows");
    var details = fnBody.closest("details");
    var fill = function () {
      if (fnBody.rows.length) return;
      var frag = document.createDocumentFragment();
      JSON.parse(fnData.textContent).forEach(function (r) {
        var tr = document.createElement("tr");
        if (r[10]) tr.className = "test";
        var a = document.createElement("a");
        a.textContent = r[0];
        a.setAttribute("href", "#L" + r[1]);
        var name = document.createElement("td");
        name.appendChild(a);
        tr.appendChild(name);
        for (var i = 1; i < 10; i++) {
          var td = document.createElement("td");
          td.textContent = String(r[i]);
          if (i === 2) td.className = "rank rank-" + r[2];
          tr.appendChild(td);
        }
        frag.appendChild(tr);
      });
      fnBody.appendChild(frag);
    };
    if (details.open) fill(); else details.addEventListener("toggle", fill);
  }

  // The hotspot table: every function, rendered from embedded JSON in pages of rows.
  function initHotspots() {
  var dataEl = document.getElementById("hotspot-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var C = {};
  data.columns.forEach(function (name, i) { C[name] = i; });
  var RANKS = "ABCDEF";
  var PAGE = 500;
  var table = document.getElementById("hs-table");
  var body = table.tBodies[0];
  var status = document.getElementById("hs-status");
  var more = document.getElementById("hs-more");
  var ths = Array.prototype.slice.call(table.querySelectorAll("thead th"));
  var sortKey = "cyclomatic", sortDir = -1, shown = PAGE, view = [];

  function value(row, key) {
    if (key === "file") return data.files[row[C.file]][0];
    if (key === "rank") return RANKS.indexOf(row[C.rank]);
    return row[C[key]];
  }

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }

  function link(text, href) {
    var a = el("a", text);
    a.setAttribute("href", href);
    return a;
  }

  function rowElement(row) {
    var file = data.files[row[C.file]];
    var tr = document.createElement("tr");
    if (row[C.test]) tr.className = "test";
    var name = el("td");
    name.appendChild(link(row[C["function"]], file[1] + "#L" + row[C.line]));
    tr.appendChild(name);
    var where = el("td", "", "path");
    where.appendChild(link(file[0] + ":" + row[C.line], file[1] + "#L" + row[C.line]));
    tr.appendChild(where);
    tr.appendChild(el("td", row[C.rank], "rank rank-" + row[C.rank]));
    ["cyclomatic", "cognitive", "nesting", "sloc", "params", "mi", "findings"].forEach(function (k) {
      tr.appendChild(el("td", row[C[k]], "num"));
    });
    return tr;
  }

  function filtered() {
    var text = document.getElementById("hs-text").value.trim().toLowerCase();
    var rank = RANKS.indexOf(document.getElementById("hs-rank").value);
    var metric = document.getElementById("hs-metric").value;
    var min = parseFloat(document.getElementById("hs-min").value);
    var withFindings = document.getElementById("hs-findings").checked;
    var tests = document.getElementById("hs-tests").checked;
    return data.rows.filter(function (row) {
      if (!tests && row[C.test]) return false;
      if (rank > 0 && RANKS.indexOf(row[C.rank]) < rank) return false;
      if (!isNaN(min) && row[C[metric]] < min) return false;
      if (withFindings && !row[C.findings]) return false;
      if (text && row[C["function"]].toLowerCase().indexOf(text) < 0 &&
          data.files[row[C.file]][0].toLowerCase().indexOf(text) < 0) return false;
      return true;
    });
  }

  function render() {
    var frag = document.createDocumentFragment();
    view.slice(0, shown).forEach(function (row) { frag.appendChild(rowElement(row)); });
    body.textContent = "";
    body.appendChild(frag);
    var n = Math.min(shown, view.length);
    status.textContent = "showing " + n + " of " + view.length + " matching functions (" +
      data.rows.length + " in all)";
    more.hidden = view.length <= shown;
  }

  function update() {
    view = filtered();
    view.sort(function (a, b) {
      return sortDir * compare(value(a, sortKey), value(b, sortKey)) ||
        compare(value(a, "file"), value(b, "file")) || a[C.line] - b[C.line];
    });
    shown = PAGE;
    ths.forEach(function (th) {
      th.removeAttribute("aria-sort");
      if (th.getAttribute("data-key") === sortKey)
        th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending");
    });
    render();
  }

  ths.forEach(function (th) {
    th.addEventListener("click", function () {
      var key = th.getAttribute("data-key");
      sortDir = key === sortKey ? -sortDir : (key === "function" || key === "file" ? 1 : -1);
      sortKey = key;
      update();
    });
  });
  ["hs-text", "hs-rank", "hs-metric", "hs-min", "hs-findings", "hs-tests"].forEach(function (id) {
    var e = document.getElementById(id);
    e.addEventListener(e.type === "search" || e.type === "number" ? "input" : "change", update);
  });
  document.getElementById("hs-filters").addEventListener("submit", function (ev) { ev.preventDefault(); });
  more.addEventListener("click", function () { shown += PAGE; render(); });
  update();
  }

  function init(onLine) {
    initSortable();
    initSource(onLine);
    initFunctions();
    initHotspots();
  }

  // A single-file report (--html-single) holds every page in a <template>; the router
  // mounts the one the address names (#/PAGE/ANCHOR) and rewrites its links to that form.
  var single = document.getElementById("single-pages");
  if (!single) {
    var fromHash = function () {
      var m = /^#L(\d+)$/.exec(window.location.hash);
      if (m) goLine(Number(m[1]));
    };
    init(function (n) { window.location.hash = "L" + n; });
    window.addEventListener("hashchange", fromHash);
    fromHash();
    return;
  }
  var main = document.getElementById("single-main"), current = null;
  function local(href, page) {  // a report link as a single-file address; null for others
    if (!href || /^[a-z]+:/i.test(href) || href.indexOf("#/") === 0) return null;
    var at = href.indexOf("#");
    var target = at < 0 ? href : href.slice(0, at), anchor = at < 0 ? "" : href.slice(at + 1);
    return "#/" + (target || page) + (anchor ? "/" + anchor : "");
  }
  function rewrite(root, page) {
    Array.prototype.forEach.call(root.querySelectorAll("a[href]"), function (a) {
      var to = local(a.getAttribute("href"), page);
      if (to) a.setAttribute("href", to);
    });
  }
  function mount(page) {
    var tpl = single.querySelector('template[data-page="' + page.replace(/["\\]/g, "") + '"]') ||
      single.querySelector("template");
    page = tpl.getAttribute("data-page");
    main.textContent = "";
    main.appendChild(document.importNode(tpl.content, true));
    document.title = tpl.getAttribute("data-title");
    Array.prototype.forEach.call(document.querySelectorAll("header.top nav a"), function (a) {
      var on = a.getAttribute("data-page") === (tpl.getAttribute("data-nav") || page);
      a.classList.toggle("active", on);
    });
    rewrite(main, page);
    current = page;
    init(function (n) { window.location.hash = "#/" + current + "/L" + n; });
  }
  function route() {
    var line = /^#L(\d+)$/.exec(window.location.hash);  // a link the page made itself
    if (line && current) {
      window.history.replaceState(null, "", "#/" + current + "/L" + line[1]);
      goLine(Number(line[1]));
      return;
    }
    var m = /^#\/([^\/]+)(?:\/(.*))?$/.exec(window.location.hash);
    var page = m ? decodeURIComponent(m[1]) : "index.html", anchor = m && m[2];
    if (page !== current) mount(page);
    if (anchor && /^L\d+$/.test(anchor)) { goLine(Number(anchor.slice(1))); return; }
    var el = anchor ? document.getElementById(decodeURIComponent(anchor)) : null;
    if (el) el.scrollIntoView(); else window.scrollTo(0, 0);
  }
  Array.prototype.forEach.call(document.querySelectorAll("header.top nav a"), function (a) {
    a.setAttribute("data-page", a.getAttribute("href"));
  });
  rewrite(document.querySelector("header.top"), "index.html");
  document.addEventListener("click", function (ev) {  // links drawn by the scripts
    var a = ev.target.closest ? ev.target.closest("a[href]") : null;
    var to = a && local(a.getAttribute("href"), current);
    if (!to || ev.button !== 0 || ev.ctrlKey || ev.metaKey) return;
    ev.preventDefault();
    window.location.hash = to;
  });
  window.addEventListener("hashchange", route);
  route();

})();
