// Renders the diagrams of the site (```mermaid blocks, class umx-diagramm) to inline SVG with the
// Mermaid the site ships (assets/vendor/mermaid/, loaded only on pages that have a diagram).
// Inline, not in a closed shadow root, so readers, tests and screen readers see the SVG text.
// Re-renders when the reader switches light/dark.
(function () {
  "use strict";
  var count = 0;
  var here = document.currentScript ? document.currentScript.src : "";
  var MERMAID = here.replace(/javascripts\/diagramme\.js(\?.*)?$/, "vendor/mermaid/mermaid.tiny.js");

  function theme() {
    var scheme = document.body.getAttribute("data-md-color-scheme");
    return scheme === "slate" ? "dark" : "default";
  }

  function render() {
    mermaid.initialize({
      startOnLoad: false, theme: theme(), securityLevel: "strict",
      themeVariables: { fontSize: "13px" }, flowchart: { htmlLabels: true, nodeSpacing: 30, rankSpacing: 40 }
    });
    var blocks = document.querySelectorAll("pre.umx-diagramm, div.umx-diagramm");
    blocks.forEach(function (block) {
      var source = block.getAttribute("data-quelle") || block.textContent;
      var id = "umx-diagramm-" + count++;
      mermaid.render(id, source).then(function (result) {
        var div = document.createElement("div");
        div.className = "umx-diagramm";
        div.setAttribute("data-quelle", source);
        div.innerHTML = result.svg;
        var svg = div.querySelector("svg");
        if (svg && svg.viewBox && svg.viewBox.baseVal && svg.viewBox.baseVal.width) {
          // natural size: a wide diagram scrolls sideways instead of shrinking its labels
          svg.style.width = svg.viewBox.baseVal.width + "px";
          svg.style.maxWidth = "none";
        }
        block.replaceWith(div);
      }).catch(function (error) {
        block.setAttribute("data-fehler", String(error && error.message || error));
      });
    });
  }

  function start() {
    if (!document.querySelector("pre.umx-diagramm")) return;  // no diagram: no 2.5 MB of Mermaid
    if (typeof mermaid === "undefined") {
      var script = document.createElement("script");
      script.src = MERMAID;
      script.onload = start;
      document.head.appendChild(script);
      return;
    }
    render();
    new MutationObserver(function (changes) {
      if (changes.some(function (c) { return c.attributeName === "data-md-color-scheme"; })) render();
    }).observe(document.body, { attributes: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
