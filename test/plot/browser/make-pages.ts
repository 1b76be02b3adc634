/**
 * Builds test pages for checking Plotly outputs in a real browser (headless Chromium), the way
 * nbconvert's HTML export places them: every output's `text/html`, in notebook order, in one
 * page. Two variants: without a module loader, and with an AMD loader (require.js, which
 * nbconvert's lab/classic templates and the classic notebook load) in <head>. A status script
 * at the end writes `<pre id="status">plots=N drawn=M errors=[...]</pre>` after 3 s, which
 * `chromium --headless --dump-dom` shows. See docs/notebooks.md for the commands.
 *
 * Usage: npx tsx test/plot/browser/make-pages.ts <notebook.ipynb> <out-dir> [require.js path]
 */
import * as fs from "fs";
import * as path from "path";
import { readNotebook } from "../../../tools/notebook-harness/nbformat";

const STATUS = `<pre id="status">pending</pre>
<script>
window.__errors = window.__errors || [];
setTimeout(function () {
  var divs = document.querySelectorAll(".linearity-plot");
  var drawn = 0;
  // Drawn = Plotly drew one trace group with a visible mark per trace of the figure, at a size
  // (a .main-svg alone is not enough: Plotly makes one for a figure with no data).
  var visible = function (els) {
    for (var k = 0; k < els.length; k++) {
      var d = els[k].getAttribute("d") || els[k].getAttribute("href") || els[k].getAttribute("xlink:href") || "";
      if (d.length > 0 && !/^M[-\d.e]+,[-\d.e]+Z$/.test(d)) return true;
    }
    return false;
  };
  for (var i = 0; i < divs.length; i++) {
    var gd = divs[i].classList.contains("js-plotly-plot") ? divs[i] : divs[i].querySelector(".js-plotly-plot");
    if (!gd || !gd.data || gd.data.length === 0 || gd.offsetWidth === 0 || gd.offsetHeight === 0) continue;
    var traces = 0, groups = gd.querySelectorAll(".main-svg g.trace.scatter, .main-svg g.trace.bars, .main-svg g.hm");
    for (var j = 0; j < groups.length; j++) if (visible(groups[j].querySelectorAll("path.js-line, path.point, g.point > path, image"))) traces++;
    if (traces === gd.data.length) drawn++;
  }
  document.getElementById("status").textContent = "plots=" + divs.length + " drawn=" + drawn + " amd=" + (typeof define === "function" && !!define.amd) + " errors=" + JSON.stringify(window.__errors);
}, 3000);
</script>`;

const ERRORS = `<script>window.__errors = []; window.addEventListener("error", function (e) { window.__errors.push(String(e.message)); });</script>`;

function main(): void {
  const [nbPath, outDir, requireJs] = process.argv.slice(2);
  if (!nbPath || !outDir) throw new Error("usage: make-pages.ts <notebook.ipynb> <out-dir> [require.js]");
  const nb = readNotebook(nbPath);
  const html = nb.cells
    .flatMap((c) => (c.cell_type === "code" ? c.outputs : []))
    .map((o) => ("data" in o && typeof o.data["text/html"] === "string" ? `<div class="output">${o.data["text/html"]}</div>` : ""))
    .join("\n");
  fs.mkdirSync(outDir, { recursive: true });
  const page = (head: string) => `<!DOCTYPE html>\n<html><head><meta charset="utf-8">${ERRORS}${head}</head><body>\n${html}\n${STATUS}\n</body></html>\n`;
  fs.writeFileSync(path.join(outDir, "plain.html"), page(""));
  if (requireJs) {
    fs.copyFileSync(requireJs, path.join(outDir, "require.js"));
    // nbconvert's templates load require.js 2.1.10 in <head> exactly like this.
    fs.writeFileSync(path.join(outDir, "amd.html"), page(`<script src="require.js"></script>`));
  }
  console.log(`wrote ${outDir}/plain.html${requireJs ? ` and ${outDir}/amd.html` : ""}`);
}

main();
