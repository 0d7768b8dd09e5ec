/* trajkit report, list page: filter, sort and page through every record of the run/version.
 *
 * Rows arrive as data/list-N.js chunks (file:// forbids fetch(), so each chunk is a script
 * calling TK.listChunk). All chunks are requested at once; the first page shows as soon as the
 * first one lands, and the view refreshes as the rest arrive. Filters live in the URL hash so a
 * filtered view can be linked, reloaded or opened from the overview. Text is inserted through
 * esc(): record text is untrusted.
 */
(function () {
  "use strict";
  var M = window.TK_META, C = {}, PAGE = 50;
  M.cols.forEach(function (c, i) { C[c] = i; });
  var rows = [], chunksDone = 0, filtered = [], timer = null;
  var CODED = { source: M.sources, teacher: M.teachers, termination: M.terminations, decision: M.decisions };
  var FILTERS = ["source", "teacher", "success", "self_corrected", "termination", "decision", "q"];
  var state = { sort: "index", dir: 1, page: 0 };
  var COLUMNS = [
    ["index", "#"], ["task_id", "task"], ["source", "source"], ["teacher", "teacher"],
    ["success", "success"], ["self_corrected", "self-corr."], ["termination", "termination"],
    ["turns", "turns"], ["tokens", "tokens"], ["cost", "cost $"], ["duration_s", "time s"],
    ["score", "score"], ["errors", "errors"], ["decision", "filter"], ["title", "prompt"]
  ];
  var NUMERIC = { index: 1, turns: 1, tokens: 1, cost: 1, duration_s: 1, score: 1, errors: 1 };

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function $(id) { return document.getElementById(id); }
  function value(r, col) { var v = r[C[col]]; return CODED[col] ? CODED[col][v] : v; }

  function readHash() {
    var p = new URLSearchParams(location.hash.slice(1));
    FILTERS.forEach(function (f) { state[f] = p.get(f) || ""; });
    state.sort = C[p.get("sort")] !== undefined ? p.get("sort") : "index";
    state.dir = p.get("dir") === "desc" ? -1 : 1;
    state.page = Math.max(0, parseInt(p.get("page") || "0", 10) || 0);
  }
  function writeHash() {
    var p = new URLSearchParams();
    FILTERS.forEach(function (f) { if (state[f]) p.set(f, state[f]); });
    if (state.sort !== "index") p.set("sort", state.sort);
    if (state.dir < 0) p.set("dir", "desc");
    if (state.page) p.set("page", String(state.page));
    history.replaceState(null, "", "#" + p.toString());
  }

  function fillSelect(id, options, labels) {
    var el = $(id), html = '<option value="">any</option>';
    options.forEach(function (o, i) { html += '<option value="' + esc(o) + '">' + esc(labels ? labels[i] : o) + "</option>"; });
    el.innerHTML = html;
  }
  function syncControls() {
    FILTERS.forEach(function (f) { var el = $("f-" + f); if (el) el.value = state[f]; });
  }

  function matcher() {
    var tests = [];
    ["source", "teacher", "termination", "decision"].forEach(function (f) {
      if (!state[f]) return;
      var code = CODED[f].indexOf(state[f]), i = C[f];
      tests.push(function (r) { return r[i] === code; });
    });
    ["success", "self_corrected"].forEach(function (f) {
      if (!state[f]) return;
      var want = state[f] === "1" ? 1 : 0, i = C[f];
      tests.push(function (r) { return r[i] === want; });
    });
    if (state.q) {
      var q = state.q.toLowerCase(), id = C.id, task = C.task_id, title = C.title;
      tests.push(function (r) {
        return r[id].toLowerCase().indexOf(q) >= 0 || r[task].toLowerCase().indexOf(q) >= 0 ||
          r[title].toLowerCase().indexOf(q) >= 0;
      });
    }
    return function (r) {
      for (var t = 0; t < tests.length; t++) if (!tests[t](r)) return false;
      return true;
    };
  }

  function apply() {
    var t0 = performance.now(), ok = matcher(), out = [];
    for (var n = 0; n < rows.length; n++) { var r = rows[n]; if (r && ok(r)) out.push(r); }
    var col = state.sort, i = C[col], dir = state.dir, names = CODED[col];
    if (col !== "index" || dir < 0) {
      out.sort(function (a, b) {
        var x = names ? names[a[i]] : a[i], y = names ? names[b[i]] : b[i];
        if (x === y) return (a[0] - b[0]);
        if (x === null) return 1;
        if (y === null) return -1;
        return (x < y ? -1 : 1) * dir;
      });
    }
    filtered = out;
    var pages = Math.max(1, Math.ceil(out.length / PAGE));
    if (state.page >= pages) state.page = pages - 1;
    render();
    window.TK.lastApplyMs = performance.now() - t0;
  }

  function cell(r, col) {
    var v = value(r, col);
    if (col === "task_id") return '<a href="traj.html#i=' + r[0] + '" data-i="' + r[0] + '">' + esc(v) + "</a>";
    if (col === "success") return v ? '<span class="badge ok">yes</span>' : '<span class="badge bad">no</span>';
    if (col === "self_corrected") return v ? '<span class="badge sc">yes</span>' : "";
    if (v === null) return "–";
    if (col === "tokens") return v.toLocaleString("en");
    if (col === "duration_s") return v.toFixed(2);
    return esc(v);
  }

  function render() {
    var head = "";
    COLUMNS.forEach(function (c) {
      var cls = state.sort === c[0] ? (state.dir > 0 ? "sorted-asc" : "sorted-desc") : "";
      head += '<th data-col="' + c[0] + '" class="' + cls + (NUMERIC[c[0]] ? " num" : "") + '">' + esc(c[1]) + "</th>";
    });
    var start = state.page * PAGE, body = [];
    filtered.slice(start, start + PAGE).forEach(function (r) {
      var tds = COLUMNS.map(function (c) {
        var cls = NUMERIC[c[0]] ? "num" : c[0], tip = c[0] === "title" || c[0] === "teacher";
        return '<td class="' + cls + '"' + (tip ? ' title="' + esc(value(r, c[0])) + '"' : "") + ">" + cell(r, c[0]) + "</td>";
      });
      body.push('<tr data-i="' + r[0] + '">' + tds.join("") + "</tr>");
    });
    $("rows").innerHTML = "<thead><tr>" + head + "</tr></thead><tbody>" + body.join("") + "</tbody>";
    var pages = Math.max(1, Math.ceil(filtered.length / PAGE)), loaded = rows.length;
    var status = filtered.length.toLocaleString("en") + " of " + loaded.toLocaleString("en") + " match";
    if (chunksDone < M.listChunks) status += " (loading: " + loaded.toLocaleString("en") + " of " + M.total.toLocaleString("en") + " records)";
    $("count").textContent = status;
    $("count").dataset.matches = String(filtered.length);
    $("page").textContent = "page " + (state.page + 1) + " of " + pages;
    $("prev").disabled = state.page === 0;
    $("next").disabled = state.page >= pages - 1;
  }

  function changed() { state.page = 0; writeHash(); apply(); }
  function schedule() {
    if (timer === null) timer = setTimeout(function () { timer = null; apply(); }, 30);
  }

  window.TK = window.TK || {};
  window.TK.listChunk = function (k, data) {
    var base = k * M.listChunkSize;
    for (var n = 0; n < data.length; n++) rows[base + n] = data[n];
    chunksDone++;
    if (chunksDone === M.listChunks) {
      clearTimeout(timer); timer = null; apply();
      window.TK.loadedMs = performance.now();  // since navigation start (benchmarks read it)
      if (chunksDone === 1) window.TK.firstRowsMs = window.TK.loadedMs;
      document.body.dataset.loaded = "1";
    } else if (chunksDone === 1) {
      apply();  // show the first rows at once, without waiting for the rest
      window.TK.firstRowsMs = performance.now();
    } else schedule();
  };

  function remember() {
    try { sessionStorage.setItem("tk-nav", JSON.stringify({ key: M.key, ids: filtered.map(function (r) { return r[0]; }), hash: location.hash })); }
    catch (e) { /* storage unavailable or full: prev/next fall back to record order */ }
  }

  function init() {
    fillSelect("f-source", M.sources); fillSelect("f-teacher", M.teachers);
    fillSelect("f-termination", M.terminations); fillSelect("f-decision", M.decisions);
    fillSelect("f-success", ["1", "0"], ["yes", "no"]); fillSelect("f-self_corrected", ["1", "0"], ["yes", "no"]);
    readHash(); syncControls();
    FILTERS.forEach(function (f) {
      var el = $("f-" + f);
      if (f === "q") el.addEventListener("input", function () {
        clearTimeout(el._t); el._t = setTimeout(function () { state.q = el.value.trim(); changed(); }, 150);
      });
      else el.addEventListener("change", function () { state[f] = el.value; changed(); });
    });
    $("rows").addEventListener("click", function (e) {
      var th = e.target.closest("th");
      if (th) {
        var col = th.dataset.col;
        state.dir = state.sort === col ? -state.dir : 1; state.sort = col; changed(); return;
      }
      if (e.target.closest("a[data-i]")) remember();
    });
    $("prev").addEventListener("click", function () { state.page--; writeHash(); render(); });
    $("next").addEventListener("click", function () { state.page++; writeHash(); render(); });
    $("reset").addEventListener("click", function () { location.hash = ""; readHash(); syncControls(); changed(); });
    window.addEventListener("hashchange", function () { readHash(); syncControls(); apply(); });
    render();
    if (!M.listChunks) { document.body.dataset.loaded = "1"; return; }
    for (var k = 0; k < M.listChunks; k++) {
      var s = document.createElement("script");
      s.src = "data/list-" + k + ".js";
      s.onerror = function () { $("count").textContent = "could not load " + this.src; };
      document.body.appendChild(s);
    }
  }
  init();
})();
