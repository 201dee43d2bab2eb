/* perfcore full-text search: no library, no network beyond this site.
 *
 * Each audience folder has its own index (consortium/search.json,
 * councils/<slug>/search.json, dwp/search.json), so the web server's folder
 * permissions decide what a reader can search. The form lists the indexes
 * a page's reader may have; one the server refuses (403) is skipped. A council
 * page remembers its council so consortium pages can search it too.
 */
(function () {
  "use strict";

  var COUNCIL_KEY = "perfcore-council";
  var MAX_RESULTS = 25;
  var loaded = null;

  function root() {
    return document.body.getAttribute("data-root") || "";
  }

  function remember(council) {
    try { if (council) { window.localStorage.setItem(COUNCIL_KEY, council); } } catch (e) { /* storage off */ }
  }

  function remembered() {
    try { return window.localStorage.getItem(COUNCIL_KEY); } catch (e) { return null; }
  }

  function indexUrls(form) {
    var urls = (form.getAttribute("data-indexes") || "").split(/\s+/).filter(Boolean);
    var council = remembered();
    var own = council ? "councils/" + council + "/search.json" : null;
    if (own && urls.indexOf(own) < 0) { urls.push(own); }
    return urls;
  }

  function fetchIndex(url) {
    // Resolved against origin + path: a page opened as http://user:password@host/... would
    // otherwise pass its credentials into the URL, which fetch refuses.
    var absolute = new URL(root() + url, window.location.origin + window.location.pathname).href;
    return fetch(absolute, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : []; })
      .catch(function () { return []; });
  }

  function load(form) {
    if (!loaded) {
      loaded = Promise.all(indexUrls(form).map(fetchIndex)).then(function (lists) {
        var seen = {};
        var entries = [];
        lists.forEach(function (list) {
          (Array.isArray(list) ? list : list.pages || []).forEach(function (entry) {
            if (!seen[entry.url]) { seen[entry.url] = true; entries.push(entry); }
          });
        });
        return entries;
      });
    }
    return loaded;
  }

  function tokens(query) {
    return query.toLowerCase().split(/[^\p{L}\p{N}£%.]+/u).filter(function (t) { return t.length > 1; });
  }

  function score(entry, terms) {
    var title = (entry.title || "").toLowerCase();
    var text = (entry.text || "").toLowerCase();
    var context = (entry.context || "").toLowerCase();
    var total = 0;
    for (var i = 0; i < terms.length; i++) {
      var term = terms[i];
      var inTitle = title.indexOf(term) >= 0 || context.indexOf(term) >= 0;
      var inText = text.indexOf(term) >= 0;
      if (!inTitle && !inText) { return 0; }
      total += (inTitle ? 10 : 0) + (inText ? 1 + Math.min(text.split(term).length - 1, 20) / 10 : 0);
    }
    return total;
  }

  function search(entries, query) {
    var terms = tokens(query);
    if (!terms.length) { return []; }
    return entries
      .map(function (entry) { return { entry: entry, score: score(entry, terms) }; })
      .filter(function (hit) { return hit.score > 0; })
      .sort(function (a, b) {
        return b.score - a.score || (b.entry.period || "").localeCompare(a.entry.period || "");
      })
      .slice(0, MAX_RESULTS);
  }

  function highlighted(text, terms) {
    var fragment = document.createDocumentFragment();
    var lower = text.toLowerCase();
    var at = 0;
    while (at < text.length) {
      var next = -1, length = 0;
      terms.forEach(function (term) {
        var found = lower.indexOf(term, at);
        if (found >= 0 && (next < 0 || found < next)) { next = found; length = term.length; }
      });
      if (next < 0) { break; }
      fragment.appendChild(document.createTextNode(text.slice(at, next)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(next, next + length);
      fragment.appendChild(mark);
      at = next + length;
    }
    fragment.appendChild(document.createTextNode(text.slice(at)));
    return fragment;
  }

  function snippet(text, terms) {
    var lower = text.toLowerCase();
    var first = terms.map(function (t) { return lower.indexOf(t); }).filter(function (i) { return i >= 0; });
    var at = first.length ? Math.min.apply(null, first) : 0;
    var start = Math.max(0, at - 80);
    var end = Math.min(text.length, at + 160);
    return (start > 0 ? "… " : "") + text.slice(start, end).trim() + (end < text.length ? " …" : "");
  }

  function element(name, text, className) {
    var node = document.createElement(name);
    if (text) { node.textContent = text; }
    if (className) { node.className = className; }
    return node;
  }

  function show(region, query, hits, available) {
    var terms = tokens(query);
    region.textContent = "";
    region.hidden = false;
    var heading = element("h2", "Search results for “" + query + "”");
    heading.id = "search-results-title";
    heading.tabIndex = -1;
    region.setAttribute("aria-labelledby", heading.id);
    region.appendChild(heading);
    var count = hits.length === 1 ? "1 page found." : hits.length + " pages found.";
    if (!available) { count = "Search is not available: the search index could not be loaded."; }
    else if (hits.length === MAX_RESULTS) { count = "The first " + MAX_RESULTS + " pages found."; }
    region.appendChild(element("p", count));
    var list = element("ol");
    hits.forEach(function (hit) {
      var item = element("li");
      var link = element("a", hit.entry.title);
      link.href = root() + hit.entry.url;
      item.appendChild(link);
      item.appendChild(element("span", hit.entry.context || "", "context"));
      var text = element("span");
      text.appendChild(highlighted(snippet(hit.entry.text || "", terms), terms));
      item.appendChild(text);
      list.appendChild(item);
    });
    if (hits.length) { region.appendChild(list); }
    var close = element("button", "Close search results");
    close.type = "button";
    close.addEventListener("click", function () { region.hidden = true; region.textContent = ""; });
    region.appendChild(close);
    heading.focus();
  }

  function run(form, region, query) {
    load(form).then(function (entries) {
      show(region, query, search(entries, query), entries.length > 0);
    });
  }

  function init() {
    var council = document.body.getAttribute("data-council");
    remember(council);
    var form = document.querySelector("form.site-search");
    var region = document.getElementById("search-results");
    if (!form || !region) { return; }
    form.hidden = false;
    var input = form.querySelector("input[type=search]");
    input.addEventListener("focus", function () { load(form); }, { once: true });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = input.value.trim();
      if (query) {
        if (window.history && window.history.replaceState) {
          window.history.replaceState(null, "", "?q=" + encodeURIComponent(query));
        }
        run(form, region, query);
      }
    });
    var initial = new URLSearchParams(window.location.search).get("q");
    if (initial) { input.value = initial; run(form, region, initial); }
  }

  // exposed for tests run with node: the search itself, without a page
  if (typeof module !== "undefined" && module.exports) {
    module.exports = { tokens: tokens, search: search, snippet: snippet };
  }
  if (typeof document === "undefined") { return; }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
})();
