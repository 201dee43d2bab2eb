/* perfcore: show each reader only the links they may follow.
 *
 * The web server (perfcore serve, or the nginx configuration it writes) answers
 * /_perfcore/me.json with the signed-in reader's name, role, home and the path
 * prefixes they may open. Links to anything else are hidden, so a council's
 * officer sees their council and the members' pages, DWP sees its folder. The
 * server refuses those paths anyway (403): this only keeps the navigation honest.
 * Opened from disk or from a plain web server there is no me.json, and nothing
 * is hidden.
 */
(function () {
  "use strict";

  function allowed(path, prefixes) {
    return prefixes.some(function (prefix) {
      return prefix.charAt(prefix.length - 1) === "/" ? path.indexOf(prefix) === 0 : path === prefix;
    });
  }

  function hideRefused(me) {
    var prefixes = (me && me.allow) || [];
    if (!me || !me.user || prefixes.indexOf("/") >= 0) { return; }
    var links = document.querySelectorAll("a[href]");
    for (var i = 0; i < links.length; i++) {
      var url = new URL(links[i].getAttribute("href"), window.location.origin + window.location.pathname);
      if (url.origin !== window.location.origin) { continue; }
      var path = url.pathname.charAt(url.pathname.length - 1) === "/" ? url.pathname + "index.html" : url.pathname;
      if (!allowed(path, prefixes)) {
        var item = links[i].closest("li") || links[i];
        item.hidden = true;
        item.setAttribute("data-perfcore-refused", "");
      }
    }
    document.documentElement.setAttribute("data-perfcore-user", me.user);
  }

  function start() {
    if (window.location.protocol !== "http:" && window.location.protocol !== "https:") { return; }
    // From the origin, never the page's own URL: one opened as http://user:password@host/...
    // would pass its credentials into the request URL, which fetch refuses.
    fetch(window.location.origin + "/_perfcore/me.json", { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(hideRefused)
      .catch(function () { /* no access server: show everything */ });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
