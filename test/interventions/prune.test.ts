/**
 * Block removal and linear replacement, checked against references written here:
 * - a folder with block k removed runs like the float64 reference forward of the source
 *   checkpoint with block k skipped (every family);
 * - a linear block loads as resid_post = resid_pre W^T + b (float64 check), and fitting it on
 *   calibration text recovers W and b;
 * - the sequential fit of a later block uses the states of the model with the earlier block
 *   already replaced (float64 normal-equations reference);
 * - a pruned folder round-trips through load and save; the CLI writes a folder eval and extract load.
 */
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../../lib/backend";
import { extract } from "../../lib/extract/extract";
import { readSafetensors } from "../../lib/io/safetensors";
import { evaluateModel, evaluationIds, nextTokenLoss } from "../../lib/interventions/evaluate";
import { prune } from "../../lib/interventions/prune";
import { blockReplacementSweep, readSweep } from "../../lib/interventions/sweep";
import { selectBlocks } from "../../lib/interventions/select";
import { writePrunedFolder } from "../../lib/interventions/pruned-folder";
import { blockFunctions, fitLinearBlocks, forEachResidualBatch, type BlockChange } from "../../lib/interventions/replace";
import { loadModel } from "../../lib/models/load";
import { saveCheckpoint } from "../../lib/models/save";
import { ByteTokenizer } from "../../lib/tokenizer/byte";
import { makeTinyCheckpoints, DEFAULT_SIZES } from "../../scripts/make-tiny-checkpoints";
import { tinyHfConfig, writeTinyCheckpoint } from "../extract/tiny";
import { compare, disposeOutput, TOL_F32 } from "../models/helpers";
import { readCheckpoint, type RefCheckpoint, type RefOutput } from "../models/reference/common";
import { gpt2Reference } from "../models/reference/gpt2";
import { llamaReference } from "../models/reference/llama";
import { optReference } from "../models/reference/opt";

let tmp: string;
let tiny: Record<string, string>; // 3-block checkpoints of every family
let byteModel: string; // 3-block byte-level Llama, d_model 16
let textFile: string;
const PROVENANCE = {
  source: "test", source_n_layers: 3, select: "linearity", replace: "linear" as const, blocks: [1], scores: [1],
  score_name: "test", calibrate: "test.txt", calibrate_tokens: 0, seq_len: 0,
};

beforeAll(async () => {
  await initBackend({ quiet: true });
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-prune-"));
  tiny = makeTinyCheckpoints(path.join(tmp, "tiny"), { ...DEFAULT_SIZES, n_layers: 3 });
  byteModel = writeTinyCheckpoint(path.join(tmp, "byte"), tinyHfConfig("llama", { n_layers: 3, d_model: 16, n_heads: 4, d_vocab: 257, n_ctx: 64, bos: 256 }), 7);
  // Calibration / evaluation text: varied English-like bytes, about 6,000 of them.
  const words = "the of and to in is was he for it with as his on be at by had are but from or have an they which one you were her all she there would their we him been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long get here between both life being under never day same another know while last might us great old year off come since against go came right used take three";
  const w = words.split(" ");
  let s = 1, text = "";
  while (text.length < 6000) {
    s = (s * 1103515245 + 12345) % 2147483648;
    text += w[s % w.length] + (s % 7 === 0 ? ". " : " ");
  }
  textFile = path.join(tmp, "calibration.txt");
  fs.writeFileSync(textFile, text);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** The reference checkpoint with block k skipped: its tensors dropped, later blocks renumbered (independent of lib). */
function skipBlockReference(ck: RefCheckpoint, k: number): RefCheckpoint {
  const tensors = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [name, t] of ck.tensors) {
    const m = /^(.*?(?:layers|h)\.)(\d+)(\..*)$/.exec(name);
    if (!m) tensors.set(name, t);
    else if (Number(m[2]) < k) tensors.set(name, t);
    else if (Number(m[2]) > k) tensors.set(`${m[1]}${Number(m[2]) - 1}${m[3]}`, t);
  }
  const config = { ...ck.config };
  if (config.n_layer !== undefined) config.n_layer -= 1;
  else config.num_hidden_layers -= 1;
  return { config, tensors };
}

describe("remove: a folder without block k runs like a forward that skips it", () => {
  const REFERENCES: [string, (c: RefCheckpoint, ids: number[]) => RefOutput][] = [
    ["llama-gqa", llamaReference],
    ["llama-tied", llamaReference],
    ["gpt2", gpt2Reference],
    ["opt", optReference],
    ["opt-350m-style", optReference],
  ];
  for (const [variant, reference] of REFERENCES) {
    it(`${variant}: block 1 of 3 removed, every state and the logits within ${TOL_F32} of the float64 reference`, () => {
      const out = path.join(tmp, `removed-${variant}`);
      const config = writePrunedFolder(tiny[variant], new Map([[1, { kind: "remove" }]]), { ...PROVENANCE, replace: "remove" }, out);
      expect((config.linearity_prune as { kept_blocks: number[] }).kept_blocks).toEqual([0, 2]);
      expect(config.linearity_linear_blocks).toBeUndefined();
      const rows = [[3, 17, 5, 9, 2, 11], [8, 1, 1, 30, 7, 19]];
      const ids = tf.tensor2d(rows, [2, 6], "int32");
      const model = loadModel(out);
      expect(model.config.n_layers).toBe(2);
      const got = model.forward(ids);
      const refCk = skipBlockReference(readCheckpoint(tiny[variant]), 1);
      const diffs = compare(got, rows.map((r) => reference(refCk, r)));
      for (const d of diffs.states) expect(d).toBeLessThan(TOL_F32);
      expect(diffs.logits).toBeLessThan(TOL_F32);
      // The same skip in memory (blockOverride with the identity on the source model).
      const source = loadModel(tiny[variant]);
      const skipped = source.forward(ids, { blockOverride: (l, x) => (l === 1 ? x : undefined) });
      expect(tf.max(tf.abs(tf.sub(skipped.logits!, got.logits!))).dataSync()[0]).toBeLessThan(1e-5);
      // Not vacuous: the full source model gives other logits.
      const full = source.forward(ids);
      expect(tf.max(tf.abs(tf.sub(full.logits!, got.logits!))).dataSync()[0]).toBeGreaterThan(1e-2);
      [got, skipped, full].forEach(disposeOutput);
      ids.dispose();
      model.dispose();
      source.dispose();
    });
  }
});

describe("linear blocks load in every family", () => {
  for (const variant of ["llama-tied", "gpt2", "opt", "opt-350m-style"]) {
    it(`${variant}: a stored linear block 1 computes resid_pre W^T + b, blocks 0 and 2 unchanged`, () => {
      const d = 32;
      const W = knownAffine(d, 7);
      const out = path.join(tmp, `linear-${variant}`);
      writePrunedFolder(tiny[variant], new Map([[1, W]]), PROVENANCE, out);
      const model = loadModel(out), source = loadModel(tiny[variant]);
      const ids = tf.tensor2d([[3, 17, 5, 9, 2, 11]], [1, 6], "int32");
      const got = model.forward(ids, { logits: false });
      // Reference: the source model with block 1 replaced in float64 from its own resid_pre.
      const src = source.forward(ids, { logits: false, blockOverride: (l, x) => (l === 1 ? x : undefined) });
      const x1 = src.hiddenStates[1].dataSync(), y = got.hiddenStates[2].dataSync();
      let worst = 0;
      for (let t = 0; t < 6; t++) {
        for (let c = 0; c < d; c++) {
          let v = W.bias[c];
          for (let a = 0; a < d; a++) v += x1[t * d + a] * W.weight[a * d + c];
          worst = Math.max(worst, Math.abs(v - y[t * d + c]));
        }
      }
      expect(worst).toBeLessThan(1e-4);
      expect(tf.max(tf.abs(tf.sub(got.hiddenStates[1], src.hiddenStates[1]))).dataSync()[0]).toBe(0);
      [got, src].forEach(disposeOutput);
      ids.dispose();
      model.dispose();
      source.dispose();
    });
  }
});

/** A well-conditioned affine map: weight [in, out] = I + 0.3 G / sqrt(d), bias 0.1 g. */
function knownAffine(d: number, seed: number): BlockChange & { kind: "linear" } {
  let s = seed;
  const normal = () => {
    s = (s * 16807) % 2147483647;
    const u = s / 2147483647;
    s = (s * 16807) % 2147483647;
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * (s / 2147483647));
  };
  const weight = new Float32Array(d * d);
  for (let a = 0; a < d; a++) for (let c = 0; c < d; c++) weight[a * d + c] = (a === c ? 1 : 0) + (0.3 * normal()) / Math.sqrt(d);
  const bias = Float32Array.from({ length: d }, () => 0.1 * normal());
  return { kind: "linear", weight, bias };
}

describe("linear blocks", () => {
  const d = 16;
  const W = knownAffine(d, 42);
  let linearDir: string;
  beforeAll(() => {
    linearDir = path.join(tmp, "linear-1");
    writePrunedFolder(byteModel, new Map([[1, W]]), PROVENANCE, linearDir);
  });

  it("a stored linear block computes resid_pre W^T + b (float64 check) and the other blocks are unchanged", () => {
    const cfg = JSON.parse(fs.readFileSync(path.join(linearDir, "config.json"), "utf8"));
    expect(cfg.linearity_linear_blocks).toEqual([1]);
    expect(cfg.num_hidden_layers).toBe(3);
    const st = readSafetensors(path.join(linearDir, "model.safetensors"));
    expect(st.names.filter((n) => n.startsWith("model.layers.1."))).toEqual(["model.layers.1.linear.bias", "model.layers.1.linear.weight"]);
    const stored = st.tensors["model.layers.1.linear.weight"].read(); // [out, in]
    expect(stored[2 * d + 5]).toBe(W.weight[5 * d + 2]); // nn.Linear layout: row = output

    const model = loadModel(linearDir);
    const source = loadModel(byteModel);
    const ids = tf.tensor2d([[256, 72, 101, 108, 108, 111, 32, 119]], [1, 8], "int32");
    const out = model.forward(ids, { logits: false });
    const ref = source.forward(ids, { logits: false });
    const x1 = out.hiddenStates[1].dataSync(), x2 = out.hiddenStates[2].dataSync();
    let worst = 0;
    for (let t = 0; t < 8; t++) {
      for (let c = 0; c < d; c++) {
        let y = W.bias[c];
        for (let a = 0; a < d; a++) y += x1[t * d + a] * W.weight[a * d + c];
        worst = Math.max(worst, Math.abs(y - x2[t * d + c]));
      }
    }
    expect(worst).toBeLessThan(1e-5);
    // Block 0 is untouched.
    expect(tf.max(tf.abs(tf.sub(out.hiddenStates[1], ref.hiddenStates[1]))).dataSync()[0]).toBe(0);
    [out, ref].forEach(disposeOutput);
    ids.dispose();
    model.dispose();
    source.dispose();
  });

  it("prune --select linearity --replace linear picks the exact linear block and recovers W and b", async () => {
    const out = path.join(tmp, "refit");
    const r = await prune({ model: linearDir, blocks: 1, select: "linearity", replace: "linear", calibrate: textFile, calibrateTokens: 4096, seqLen: 64, out });
    expect(r.selection.blocks).toEqual([1]);
    expect(r.stats.linearity[1]).toBeGreaterThan(1 - 1e-6);
    expect(r.fits[0].r2).toBeGreaterThan(1 - 1e-6);
    const st = readSafetensors(path.join(out, "model.safetensors"));
    const w = st.tensors["model.layers.1.linear.weight"].read(); // [out, in]
    const b = st.tensors["model.layers.1.linear.bias"].read();
    let worstW = 0, worstB = 0;
    for (let a = 0; a < d; a++) for (let c = 0; c < d; c++) worstW = Math.max(worstW, Math.abs(w[c * d + a] - W.weight[a * d + c]));
    for (let c = 0; c < d; c++) worstB = Math.max(worstB, Math.abs(b[c] - W.bias[c]));
    expect(worstW).toBeLessThan(1e-3);
    expect(worstB).toBeLessThan(1e-3);
  });

  it("fits blocks sequentially: block 2's map is the least-squares fit on states of the model with block 0 already linear", () => {
    const model = loadModel(byteModel);
    const ids = evaluationIds(textFile, new ByteTokenizer({ bos_token_id: 256, d_vocab: 257 }), 64, 2048);
    const { changes, fits } = fitLinearBlocks(model, ids, [2, 0], 8);
    expect(fits.map((f) => f.block)).toEqual([0, 2]);
    // Reference: states of the model with block 0 replaced by its fit, then a float64 centred fit.
    const { override, dispose } = blockFunctions(new Map([[0, changes.get(0)!]]), d);
    const xs: number[][] = [], ys: number[][] = [];
    forEachResidualBatch(model, ids, 8, override, (resid) => {
      for (let t = 0; t < resid[2].length / d; t++) {
        xs.push(Array.from(resid[2].subarray(t * d, (t + 1) * d)));
        ys.push(Array.from(resid[3].subarray(t * d, (t + 1) * d)));
      }
    });
    dispose();
    const ref = affineLeastSquares(xs, ys);
    const got = changes.get(2) as BlockChange & { kind: "linear" };
    const scale = Math.max(...ref.weight.map(Math.abs));
    let worst = 0;
    for (let i = 0; i < d * d; i++) worst = Math.max(worst, Math.abs(got.weight[i] - ref.weight[i]));
    expect(worst / scale).toBeLessThan(2e-3);
    // The fit on the unchanged model's states differs: the sequential order matters here.
    const naive = fitLinearBlocks(model, ids, [2], 8).changes.get(2) as BlockChange & { kind: "linear" };
    let apart = 0;
    for (let i = 0; i < d * d; i++) apart = Math.max(apart, Math.abs(naive.weight[i] - ref.weight[i]));
    expect(apart / scale).toBeGreaterThan(10 * (worst / scale));
    model.dispose();
  });

  it("a pruned folder round-trips through load and save", () => {
    const again = path.join(tmp, "round-trip");
    writePrunedFolder(linearDir, new Map(), PROVENANCE, again);
    const cfgA = JSON.parse(fs.readFileSync(path.join(linearDir, "config.json"), "utf8"));
    const cfgB = JSON.parse(fs.readFileSync(path.join(again, "config.json"), "utf8"));
    expect(cfgB.linearity_linear_blocks).toEqual(cfgA.linearity_linear_blocks);
    expect(cfgB.num_hidden_layers).toBe(cfgA.num_hidden_layers);
    expect(cfgB.linearity_prune.previous.kept_blocks).toEqual([0, 1, 2]);
    const a = loadModel(linearDir), b = loadModel(again);
    const ids = tf.tensor2d([[256, 84, 104, 101, 32, 99, 97, 116]], [1, 8], "int32");
    const oa = a.forward(ids), ob = b.forward(ids);
    expect(tf.max(tf.abs(tf.sub(oa.logits!, ob.logits!))).dataSync()[0]).toBe(0);
    // model.stateDict() gives the folder's tensors back: saved and reloaded, the same logits.
    const viaStateDict = path.join(tmp, "via-state-dict");
    const sd = a.stateDict();
    expect(Object.keys(sd).filter((n) => n.startsWith("model.layers.1.")).sort()).toEqual(["model.layers.1.linear.bias", "model.layers.1.linear.weight"]);
    saveCheckpoint(viaStateDict, a.hfConfig, sd, "F32");
    tf.dispose(Object.values(sd));
    const c = loadModel(viaStateDict);
    const oc = c.forward(ids);
    expect(tf.max(tf.abs(tf.sub(oa.logits!, oc.logits!))).dataSync()[0]).toBe(0);
    disposeOutput(oc);
    c.dispose();
    // Removing the linear block afterwards renumbers block 2 to 1 and drops the field.
    const removed = path.join(tmp, "linear-removed");
    const cfgC = writePrunedFolder(linearDir, new Map([[1, { kind: "remove" }]]), { ...PROVENANCE, replace: "remove" }, removed);
    expect(cfgC.linearity_linear_blocks).toBeUndefined();
    expect(cfgC.num_hidden_layers).toBe(2);
    [oa, ob].forEach(disposeOutput);
    ids.dispose();
    a.dispose();
    b.dispose();
  });

  it("refuses a malformed linearity_linear_blocks and an output equal to the source", () => {
    const bad = path.join(tmp, "bad-field");
    fs.cpSync(linearDir, bad, { recursive: true });
    const cfg = JSON.parse(fs.readFileSync(path.join(bad, "config.json"), "utf8"));
    fs.writeFileSync(path.join(bad, "config.json"), JSON.stringify({ ...cfg, linearity_linear_blocks: [1, 5] }));
    expect(() => loadModel(bad)).toThrow("'linearity_linear_blocks' must be a list of distinct block indices 0..2");
    fs.writeFileSync(path.join(bad, "config.json"), JSON.stringify({ ...cfg, linearity_linear_blocks: [2] }));
    expect(() => loadModel(bad)).toThrow(/missing: model\.layers\.1\.input_layernorm\.weight.*unexpected: model\.layers\.1\.linear\.bias/);
    expect(() => writePrunedFolder(linearDir, new Map(), PROVENANCE, linearDir)).toThrow("is the source model folder");
  });
});

describe("prune command", () => {
  it("CLI: removes the chosen block; eval and extract load the folder; overlapping eval text is refused", async () => {
    const out = path.join(tmp, "cli-pruned");
    const stdout = execFileSync(process.execPath, ["--import", "tsx", "test/cli/run-cli.ts", "prune", "--model", byteModel,
      "--blocks", "1", "--select", "bi", "--replace", "remove", "--calibrate", textFile, "--calibrate-tokens", "1024",
      "--seq-len", "64", "--out", out], { encoding: "utf8", env: { ...process.env, LINEARITY_QUIET: "1" } });
    expect(stdout).toMatch(/selected by bi: blocks \d/);
    expect(stdout.trim().split("\n").at(-1)).toMatch(new RegExp(`^${out}: 2 of 3 blocks \\(\\d removed\\)$`));
    const cfg = JSON.parse(fs.readFileSync(path.join(out, "config.json"), "utf8"));
    expect(cfg.num_hidden_layers).toBe(2);
    expect(cfg.linearity_prune.calibrate).toBe(textFile);
    expect(cfg.linearity_prune.calibrate_tokens).toBe(1024);

    const r = await evaluateModel({ model: out, text: "corpus:brown:heldout", maxTokens: 256, seqLen: 64 });
    expect(r.nLayers).toBe(2);
    expect(Number.isFinite(r.natsPerToken)).toBe(true);
    await expect(evaluateModel({ model: out, text: textFile, maxTokens: 256, seqLen: 64 })).rejects.toThrow("overlaps the text");
    const ds = await extract({ model: out, text: "corpus:brown:heldout", out: path.join(tmp, "ds"), maxTokens: 200, seqLen: 64 });
    expect(ds.complete).toBe(true);
    const manifest = JSON.parse(fs.readFileSync(path.join(tmp, "ds", "manifest.json"), "utf8"));
    expect(manifest.model.n_layers).toBe(2);
  });

  it("refuses bad options with one-line errors", async () => {
    const base = { model: byteModel, calibrate: textFile, calibrateTokens: 512, seqLen: 64, out: path.join(tmp, "never") };
    await expect(prune({ ...base, blocks: 1, select: "random" as never, replace: "remove" })).rejects.toThrow("--select must be one of linearity, angular, bi");
    await expect(prune({ ...base, blocks: 1, select: "bi", replace: "zero" as never })).rejects.toThrow("--replace must be one of remove, linear");
    await expect(prune({ ...base, blocks: 3, select: "bi", replace: "remove" })).rejects.toThrow("would remove every block");
    await expect(prune({ ...base, blocks: 4, select: "bi", replace: "linear" })).rejects.toThrow("--blocks must be an integer from 1 to 3");
    await expect(prune({ ...base, blocks: 1, select: "bi", replace: "linear", calibrate: "corpus:brown", evalText: "corpus:brown:heldout" })).rejects.toThrow("overlaps the evaluation text");
    expect(fs.existsSync(base.out)).toBe(false);
  });
});

/** Centred least squares with bias in float64 (normal equations, Gaussian elimination with pivoting). */
function affineLeastSquares(xs: number[][], ys: number[][]): { weight: number[]; bias: number[] } {
  const n = xs.length, d = xs[0].length, m = ys[0].length;
  const mx = new Array(d).fill(0), my = new Array(m).fill(0);
  xs.forEach((r) => r.forEach((v, j) => (mx[j] += v / n)));
  ys.forEach((r) => r.forEach((v, j) => (my[j] += v / n)));
  const A = Array.from({ length: d }, () => new Array(d + m).fill(0));
  for (let t = 0; t < n; t++) {
    for (let a = 0; a < d; a++) {
      const xa = xs[t][a] - mx[a];
      for (let b = 0; b < d; b++) A[a][b] += xa * (xs[t][b] - mx[b]);
      for (let c = 0; c < m; c++) A[a][d + c] += xa * (ys[t][c] - my[c]);
    }
  }
  for (let col = 0; col < d; col++) {
    let p = col;
    for (let r = col + 1; r < d; r++) if (Math.abs(A[r][col]) > Math.abs(A[p][col])) p = r;
    [A[col], A[p]] = [A[p], A[col]];
    for (let r = 0; r < d; r++) {
      if (r === col) continue;
      const f = A[r][col] / A[col][col];
      for (let c = col; c < d + m; c++) A[r][c] -= f * A[col][c];
    }
  }
  const weight = new Array(d * m);
  for (let a = 0; a < d; a++) for (let c = 0; c < m; c++) weight[a * m + c] = A[a][d + c] / A[a][a];
  const bias = my.map((v, c) => v - mx.reduce((s, x, a) => s + x * weight[a * m + c], 0));
  return { weight, bias };
}

describe("block-replacement sweep", () => {
  it("covers every rule x mode x K, agrees with the rules and with itself, and refuses overlapping texts", async () => {
    const evalFile = path.join(tmp, "eval.txt");
    fs.writeFileSync(evalFile, fs.readFileSync(textFile, "utf8").split("").reverse().join(""));
    const r = await blockReplacementSweep({ model: byteModel, calibrate: textFile, evaluate: evalFile, calibrateTokens: 1024, evalTokens: 512, seqLen: 64 });
    expect(r.results.length).toBe(3 * 2 * 2);
    const stats = { linearity: r.stats.linearity, blockInfluence: r.stats.block_influence, angular: r.stats.angular.map((row) => row.map((v) => v ?? NaN)) };
    for (const p of r.results) {
      expect(p.blocks).toEqual(selectBlocks(p.rule, stats, p.k).blocks);
      // The same blocks and mode give the same loss whichever rule chose them.
      for (const q of r.results) if (q.replace === p.replace && q.blocks.join() === p.blocks.join()) expect(q.natsPerToken).toBe(p.natsPerToken);
      expect(p.fitR2 === undefined).toBe(p.replace === "remove");
    }
    // A removed block is the same as a forward that skips it (checked above), here on the eval ids.
    const model = loadModel(byteModel);
    const ids = evaluationIds(evalFile, new ByteTokenizer({ bos_token_id: 256, d_vocab: 257 }), 64, 512);
    const first = r.results.find((p) => p.replace === "remove" && p.k === 1)!;
    const want = nextTokenLoss(model, ids, 8, (l, x) => (first.blocks.includes(l) ? x : undefined)).natsPerToken;
    model.dispose();
    expect(Math.abs(first.natsPerToken - want)).toBeLessThan(1e-5);
    const file = path.join(tmp, "sweep.json");
    fs.writeFileSync(file, JSON.stringify(r));
    expect(readSweep(file).results.length).toBe(12);
    fs.writeFileSync(file, "{}");
    expect(() => readSweep(file)).toThrow("not a block-replacement sweep");
    await expect(blockReplacementSweep({ model: byteModel, calibrate: textFile, evaluate: textFile })).rejects.toThrow("overlaps");
  });
});
