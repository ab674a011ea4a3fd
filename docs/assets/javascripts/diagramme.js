// Renders the diagrams of the site (```mermaid blocks, class umx-diagramm) to inline SVG with the
// Mermaid the site ships (assets/vendor/mermaid/). Inline, not in a closed shadow root, so readers,
// tests and screen readers see the SVG. Re-renders when the reader switches light/dark.
(function () {
  "use strict";
  if (typeof mermaid === "undefined") return;
  var count = 0;

  function theme() {
    var scheme = document.body.getAttribute("data-md-color-scheme");
    return scheme === "slate" ? "dark" : "default";
  }

  function render() {
    mermaid.initialize({ startOnLoad: false, theme: theme(), securityLevel: "strict", flowchart: { htmlLabels: true } });
    var blocks = document.querySelectorAll("pre.umx-diagramm, div.umx-diagramm");
    blocks.forEach(function (block) {
      var source = block.getAttribute("data-quelle") || block.textContent;
      var id = "umx-diagramm-" + count++;
      mermaid.render(id, source).then(function (result) {
        var div = document.createElement("div");
        div.className = "umx-diagramm";
        div.setAttribute("data-quelle", source);
        div.setAttribute("role", "img");
        div.setAttribute("aria-label", "Diagramm aus der Matrix");
        div.innerHTML = result.svg;
        block.replaceWith(div);
      }).catch(function (error) {
        block.setAttribute("data-fehler", String(error && error.message || error));
      });
    });
  }

  function start() {
    render();
    new MutationObserver(function (changes) {
      if (changes.some(function (c) { return c.attributeName === "data-md-color-scheme"; })) render();
    }).observe(document.body, { attributes: true });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
