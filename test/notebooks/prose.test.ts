/**
 * Prose that cannot go stale: every number quoted in a notebook's markdown must appear in that
 * notebook's stored outputs (or code) at the precision quoted, or be marked external
 * (tools/notebook-harness/prose.ts). Runs on every notebook in notebooks/, without a kernel.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, test } from "vitest";
import { Notebook, parseNotebook, readNotebook } from "../../tools/notebook-harness/nbformat";
import { describeStale, docRegions, notebookNumbers, parseQuoted, quotedNumbers, staleDocNumbers, staleNumbers } from "../../tools/notebook-harness/prose";
import { listNotebooks } from "../../scripts/notebook-paths";

const root = path.resolve(__dirname, "../..");

const nb = (markdown: string, outputs: unknown[], code = "x"): Notebook =>
  parseNotebook(
    JSON.stringify({
      nbformat: 4,
      nbformat_minor: 5,
      metadata: {},
      cells: [
        { cell_type: "code", id: "c", metadata: {}, source: code, outputs, execution_count: 1 },
        { cell_type: "markdown", id: "m", metadata: {}, source: markdown },
      ],
    }),
  );
const stdout = (text: string) => ({ output_type: "stream", name: "stdout", text });
const stale = (markdown: string, outputs: unknown[], code?: string) => staleNumbers(nb(markdown, outputs, code)).map((q) => q.text);

describe("quoted numbers", () => {
  test("decimals, percentages and separated counts are checked; plain integers are not", () => {
    expect(quotedNumbers("state 3 -> state 4 scores 0.769 on 16,000 tokens (35%), lr 1e-3, year 2024, 10 epochs").map((q) => q.text)).toEqual(["0.769", "16,000", "35%", "1e-3"]);
  });

  test("code, links and external spans are not prose", () => {
    expect(quotedNumbers('`x = 0.5` [paper](https://arxiv.org/abs/2405.12250) <span class="external">0.972, 0.966</span> and 0.474')).toHaveLength(1);
  });

  test("tolerance is half a unit in the last quoted place", () => {
    expect(parseQuoted("0.769", false)).toMatchObject({ value: 0.769 });
    expect(parseQuoted("0.769", false)!.tolerance).toBeCloseTo(0.0005, 9);
    expect(parseQuoted("16,000", false)!.tolerance).toBeCloseTo(0.5, 6);
    expect(parseQuoted("3.4e-5", false)!.tolerance).toBeCloseTo(0.05e-5, 12);
    const pct = parseQuoted("11.7", true)!;
    expect(pct.percent).toBe(11.7);
    expect(Math.abs(pct.value - 0.117)).toBeLessThan(1e-15);
    expect(parseQuoted("12", false)).toBeUndefined();
  });

  test("output numbers: streams, text/plain, JSON (the Plotly figure), code; not HTML", () => {
    const book = nb("", [stdout("score 0.76947\n"), { output_type: "display_data", metadata: {}, data: { "text/plain": "n 16000", "text/html": "<td>9.99</td>", "application/vnd.plotly.v1+json": { data: [{ y: [0.25, -3.5] }] } } }], "const lr = 1e-3;");
    expect(notebookNumbers(book)).toEqual([0.001, 0.25, 0.76947, 3.5, 16000]); // 9.99 (HTML only) is not there
  });
});

describe("stale numbers", () => {
  test("a number printed at higher precision matches when it rounds to the quoted one", () => {
    expect(stale("scores 0.769 and 0.77", [stdout("0.76947\n")])).toEqual([]);
    expect(stale("scores 0.7695", [stdout("0.76947\n")])).toEqual([]);
  });

  test("a re-execution that moves a score makes the prose stale", () => {
    expect(stale("the score is 0.769", [stdout("0.7702\n")])).toEqual(["0.769"]);
    // Quoting more digits than were printed is not supported by the output either.
    expect(stale("the score is 0.76947", [stdout("0.7695\n")])).toEqual(["0.76947"]);
  });

  test("percentages match a printed fraction or a printed percentage", () => {
    expect(stale("explains 77% and 11.7%", [stdout("0.76947, 1872 tokens (11.7%)\n")])).toEqual([]);
    expect(stale("explains 78%", [stdout("0.76947\n")])).toEqual(["78%"]);
  });

  test("counts with separators match the printed integer; external numbers are exempt", () => {
    expect(stale("16,000 tokens and 15,999", [stdout("16000 tokens\n")])).toEqual(["15,999"]);
    expect(stale('OPT-125m scored <span class="external">0.972</span>', [])).toEqual([]);
  });

  test("the report names the cell, line and context", () => {
    const book = nb("intro\nthe score is 0.5", [stdout("0.7\n")]);
    expect(describeStale(book, staleNumbers(book))).toBe('markdown cell 2, line 2: 0.5 is not in the outputs: "the score is 0.5"');
  });
});

describe("checked integers", () => {
  test("plain integers inside a checked span are checked, elsewhere not", () => {
    expect(quotedNumbers('from step <span class="checked">650</span> on, step 700').map((q) => q.text)).toEqual(["650"]);
    expect(stale('higher from step <span class="checked">650</span> on', [stdout("first step behind: 650\n")])).toEqual([]);
    expect(stale('higher from step <span class="checked">700</span> on', [stdout("first step behind: 650\n")])).toEqual(["700"]);
  });
});

describe("docs quoting a notebook", () => {
  const book = nb("", [stdout("scores 0.76164 0.73178, MSE 1.740, first step behind 650\n")]);
  const read = () => book;
  test("numbers inside a region must be in the notebook's outputs; outside they are not checked", () => {
    const doc = [
      "intro 0.999 (not checked)",
      "<!-- numbers from notebooks/01-x.ipynb -->",
      "| `01-x` | scores (0.762, 0.732), MSE 1.740 |",
      "<!-- end numbers -->",
    ].join("\n");
    expect(staleDocNumbers(doc, read)).toEqual([]);
    const old = doc.replace("0.762", "0.769").replace("1.740", "1.648");
    expect(staleDocNumbers(old, read)).toEqual([
      'line 3: 0.769 is not in notebooks/01-x.ipynb: "| `01-x` | scores (0.769, 0.732), MSE 1.648 |"',
      'line 3: 1.648 is not in notebooks/01-x.ipynb: "| `01-x` | scores (0.769, 0.732), MSE 1.648 |"',
    ]);
    expect(staleDocNumbers('<!-- numbers from notebooks/07.ipynb -->from step <span class="checked">700</span><!-- end numbers -->', read)).toHaveLength(1);
  });

  test("in a region over several notebooks, a line naming one is checked against that one", () => {
    const other = nb("", [stdout("norms 0.86 30.7\n")]);
    const books: Record<string, Notebook> = { "notebooks/01-x.ipynb": book, "notebooks/02-y.ipynb": other };
    const doc = [
      "<!-- numbers from notebooks/01-x.ipynb notebooks/02-y.ipynb -->",
      "| `01-x` | 0.762 |",
      "| `02-y` | 30.7 and 0.762 |",
      "header 30.7 and 0.762",
      "<!-- end numbers -->",
    ].join("\n");
    expect(staleDocNumbers(doc, (p) => books[p])).toEqual(['line 3: 0.762 is not in notebooks/02-y.ipynb: "| `02-y` | 30.7 and 0.762 |"']);
  });

  test("an unclosed region is an error", () => {
    expect(() => docRegions("<!-- numbers from notebooks/a.ipynb -->\n0.5")).toThrow(/1 '<!-- numbers from ... -->' markers but 0 closed/);
  });
});

describe("every doc region matches the notebook it quotes", () => {
  const files = [path.join(root, "README.md"), ...fs.readdirSync(path.join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => path.join(root, "docs", f))];
  for (const file of files) {
    const markdown = fs.readFileSync(file, "utf8");
    if (docRegions(markdown).length === 0) continue;
    test(path.relative(root, file), () => {
      const found = staleDocNumbers(markdown, (nbPath) => readNotebook(path.join(root, nbPath)));
      if (found.length) {
        expect.fail(`${path.relative(root, file)}: ${found.length} number(s) are not in the notebook they quote; update the text after re-running the notebooks:\n${found.join("\n")}`);
      }
    });
  }
});

describe("every notebook's prose matches its stored outputs", () => {
  for (const file of listNotebooks(path.join(root, "notebooks"))) {
    test(path.relative(root, file), () => {
      const book = readNotebook(file);
      const found = staleNumbers(book);
      if (found.length) {
        expect.fail(
          `${path.relative(root, file)}: ${found.length} number(s) in the markdown are not in the notebook's outputs. ` +
            `Update the text after re-running, or mark a number from elsewhere as <span class="external">...</span> (docs/notebooks.md):\n` +
            describeStale(book, found),
        );
      }
    });
  }
});
