/* trajkit report, trajectory page: shows record #i=N from its data/rec-K.js chunk.
 *
 * The record's HTML was rendered and escaped in Python; this only loads the chunk holding it,
 * inserts it, and sets previous/next links: through the list the reader came from (kept in
 * sessionStorage by the list page) when this record is in it, else in record order.
 */
(function () {
  "use strict";
  var M = window.TK_META, cache = {}, requested = {};
  function $(id) { return document.getElementById(id); }
  function current() {
    var i = parseInt(new URLSearchParams(location.hash.slice(1)).get("i") || "0", 10);
    return isNaN(i) ? 0 : i;
  }
  function nav() {
    try {
      var saved = JSON.parse(sessionStorage.getItem("tk-nav") || "null");
      if (saved && saved.key === M.key) return saved;
    } catch (e) { /* no storage: record order */ }
    return null;
  }
  function setLink(el, i, label) {
    if (i === null) { el.removeAttribute("href"); el.textContent = ""; return; }
    el.href = "#i=" + i; el.textContent = label;
  }
  function show() {
    var i = current(), k = Math.floor(i / M.recChunkSize);
    if (i < 0 || i >= M.total) { $("record").textContent = "No record #" + i + " in this report (" + M.total + " records)."; return; }
    if (!cache[k]) {
      if (!requested[k]) {
        requested[k] = true;
        var s = document.createElement("script");
        s.src = "data/rec-" + k + ".js";
        s.onerror = function () { $("record").textContent = "Could not load " + s.src + "."; };
        document.body.appendChild(s);
      }
      return;
    }
    var rec = cache[k][i - k * M.recChunkSize];
    $("record").innerHTML = rec.h;
    document.title = rec.t + " · trajkit";
    var saved = nav(), pos = saved ? saved.ids.indexOf(i) : -1, prev = null, next = null, where = "record order";
    if (pos >= 0) {
      prev = pos > 0 ? saved.ids[pos - 1] : null;
      next = pos < saved.ids.length - 1 ? saved.ids[pos + 1] : null;
      where = "filtered list: " + (pos + 1) + " of " + saved.ids.length;
      $("back").href = "list.html" + saved.hash;
    } else {
      prev = i > 0 ? i - 1 : null;
      next = i < M.total - 1 ? i + 1 : null;
    }
    setLink($("prev"), prev, "← previous");
    setLink($("next"), next, "next →");
    $("where").textContent = "#" + i + " · " + where;
    var turn = new URLSearchParams(location.hash.slice(1)).get("turn");
    if (turn && $("turn-" + turn)) $("turn-" + turn).scrollIntoView(); else window.scrollTo(0, 0);
    document.body.dataset.shown = String(i);
  }
  window.TK = window.TK || {};
  window.TK.recChunk = function (k, recs) { cache[k] = recs; show(); };
  window.addEventListener("hashchange", show);
  show();
})();
