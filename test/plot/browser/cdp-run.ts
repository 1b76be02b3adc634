/**
 * Drives headless Chromium over the DevTools protocol for the front-end tests that need a live
 * page (a Jupyter server's notebook, not a file):
 *   node [--experimental-websocket] --import tsx test/plot/browser/cdp-run.ts CHROMIUM URL SCRIPT.js [SCREENSHOT.png]
 * opens URL, evaluates the script's expression (a promise; its value must be JSON), optionally
 * saves a screenshot, and prints {"value": ...} or {"error": "..."} on stdout. Uses the global
 * WebSocket (Node 22, or Node 20 with --experimental-websocket); no npm package.
 */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

type Json = Record<string, unknown>;

async function waitForFile(file: string, ms: number): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    if (fs.existsSync(file)) {
      const text = fs.readFileSync(file, "utf8");
      if (text.includes("\n")) return text;
    }
    if (Date.now() > until) throw new Error(`Chromium wrote no ${path.basename(file)} in ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function main(): Promise<void> {
  const [chromium, url, scriptFile, screenshot] = process.argv.slice(2);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "cdp-profile-"));
  const browser = spawn(chromium, ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--remote-debugging-port=0", `--user-data-dir=${profile}`, "--window-size=1100,900", "about:blank"], {
    stdio: "ignore",
    // Its own process group, so that its helpers (renderer, zygote, crashpad) die with it.
    detached: true,
  });
  try {
    const [port, wsPath] = (await waitForFile(path.join(profile, "DevToolsActivePort"), 30_000)).trim().split("\n");
    const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error("cannot connect to Chromium's DevTools socket"));
    });
    let nextId = 0;
    const pending = new Map<number, { resolve: (v: Json) => void; reject: (e: Error) => void }>();
    const events: { method: string; sessionId?: string }[] = [];
    ws.onmessage = (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; method?: string; sessionId?: string; result?: Json; error?: { message: string } };
      if (msg.method) events.push({ method: msg.method, sessionId: msg.sessionId });
      const p = msg.id === undefined ? undefined : pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id!);
      if (msg.error) p.reject(new Error(msg.error.message));
      else p.resolve(msg.result ?? {});
    };
    const send = (method: string, params: Json = {}, sessionId?: string): Promise<Json> =>
      new Promise((resolve, reject) => {
        const id = ++nextId;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
      });
    const { targetId } = (await send("Target.createTarget", { url: "about:blank" })) as { targetId: string };
    const { sessionId } = (await send("Target.attachToTarget", { targetId, flatten: true })) as { sessionId: string };
    // Navigate, then evaluate only after the page's load event (else its context is replaced under us).
    await send("Page.enable", {}, sessionId);
    await send("Page.navigate", { url }, sessionId);
    const loadUntil = Date.now() + 60_000;
    while (!events.some((e) => e.method === "Page.loadEventFired" && e.sessionId === sessionId)) {
      if (Date.now() > loadUntil) throw new Error(`${url} did not load in 60 s`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const expression = fs.readFileSync(scriptFile, "utf8");
    const evaluated = (await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true }, sessionId)) as {
      result?: { value?: unknown };
      exceptionDetails?: { exception?: { description?: string }; text?: string };
    };
    if (screenshot) {
      const shot = (await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true }, sessionId)) as { data: string };
      fs.writeFileSync(screenshot, Buffer.from(shot.data, "base64"));
    }
    if (evaluated.exceptionDetails) {
      process.stdout.write(JSON.stringify({ error: evaluated.exceptionDetails.exception?.description ?? evaluated.exceptionDetails.text }) + "\n");
    } else {
      process.stdout.write(JSON.stringify({ value: evaluated.result?.value }) + "\n");
    }
    ws.close();
  } finally {
    const exited = browser.exitCode !== null || browser.signalCode !== null ? Promise.resolve() : new Promise((r) => browser.once("exit", r));
    try {
      process.kill(-browser.pid!, "SIGKILL"); // the whole group: a helper still writing the profile made rmSync fail with ENOTEMPTY
    } catch {
      browser.kill("SIGKILL");
    }
    await exited;
    // A helper may still be closing files in the profile for a moment: retry (Node retries ENOTEMPTY/EBUSY).
    fs.rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  }
}

main().catch((e: Error) => {
  process.stdout.write(JSON.stringify({ error: e.message }) + "\n");
  process.exitCode = 1;
});
