// Live updates, the only thing in the portal that needs JavaScript: every element with data-live="on" is replaced
// by its fresh copy from the same page, fetched again every few seconds; the server turns a region "off" when
// nothing more can change (a finished job). Without JavaScript, reloading the page shows the same.
(function () {
  "use strict";
  var INTERVAL_MS = 1500;
  function regions() { return document.querySelectorAll("[data-live='on'][id]"); }
  function scrollLogs(within) {  // a tail reads from the bottom
    within.querySelectorAll("pre.log").forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  }
  function busy(region) {  // someone is typing in (or reading) a control of this region: leave it alone
    var active = document.activeElement;
    return region.contains(active) && active.matches("input, select, textarea, pre");
  }
  function selectorOf(element) {  // how to find the focused link or button again in the fresh copy
    if (element.id) { return "#" + CSS.escape(element.id); }
    if (element.getAttribute("href")) { return "a[href=\"" + CSS.escape(element.getAttribute("href")) + "\"]"; }
    return null;
  }
  async function refresh() {
    try {
      var response = await fetch(window.location.href, {credentials: "same-origin", cache: "no-store",
                                                         headers: {"Accept": "text/html"}});
      if (!response.ok || response.redirected) { return; }  // signed out, or the record is gone: stop quietly
      var fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      regions().forEach(function (region) {
        var next = fresh.getElementById(region.id);
        if (!next || busy(region) || next.outerHTML === region.outerHTML) { return; }
        var focused = region.contains(document.activeElement) ? selectorOf(document.activeElement) : null;
        var copy = document.importNode(next, true);
        region.replaceWith(copy);
        scrollLogs(copy);
        var again = focused && copy.querySelector(focused);
        if (again) { again.focus({preventScroll: true}); }  // keyboard users keep their place
      });
    } catch (err) { /* the server went away: try again later */ }
    if (regions().length) { window.setTimeout(refresh, INTERVAL_MS); }
  }
  scrollLogs(document);
  if (regions().length) { window.setTimeout(refresh, INTERVAL_MS); }
})();
