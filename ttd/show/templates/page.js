// Rendered sizes of the timeline and the charts, for the headless-browser check (read from the DOM).
(function () {
  "use strict";
  function box(el) { var r = el ? el.getBoundingClientRect() : { width: 0, height: 0 }; return [Math.round(r.width), Math.round(r.height)]; }
  function measure() {
    var charts = Array.prototype.map.call(document.querySelectorAll("svg.chart"), box);
    document.documentElement.setAttribute("data-rendered", JSON.stringify({
      timeline: box(document.getElementById("timeline")),
      diffs: document.querySelectorAll(".diff").length,
      charts: charts
    }));
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", measure); } else { measure(); }
})();
