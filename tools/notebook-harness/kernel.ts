/**
 * A minimal Jupyter kernel client for the tslab kernel: starts `tslab kernel --config-path
 * <connection file>` as a child process (random free ports, HMAC-SHA256 key), talks protocol 5.3
 * over ZeroMQ (shell + control DEALER, iopub SUB) and collects the iopub messages of each request.
 *
 * No Python or jupyter_client is involved. tslab specifics handled here: it never sends an
 * `error` message (an exception only shows as stderr text plus `execute_reply.status ==
 * "error"`), and after an error it aborts queued requests, so callers send one cell at a time.
 */
import { ChildProcess, spawn } from "child_process";
import { randomBytes, randomUUID } from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type * as Zmq from "zeromq";
import { decodeMessage, encodeMessage, JupyterMessage, newMessage } from "./wire";

/** What `execute` returns for one request. */
export interface ExecuteOutcome {
  /** execute_reply status; "timeout" when no reply came within the cell timeout. */
  status: "ok" | "error" | "abort" | "timeout";
  /** execution_count from execute_reply (null when missing). */
  executionCount: number | null;
  /** iopub messages whose parent is this request, in arrival order (status messages excluded). */
  iopub: JupyterMessage[];
  /** Milliseconds from sending the request to the reply. */
  elapsedMs: number;
}

export interface KernelStartOptions {
  /** Working directory of the kernel (nbval and Jupyter use the notebook's folder). */
  cwd: string;
  /** Give up starting after this many milliseconds (default 60 000, nbval's default). */
  startupTimeoutMs?: number;
  /** Extra environment variables for the kernel process. */
  env?: Record<string, string>;
  /** Start the JavaScript flavour (`tslab kernel --js`). */
  js?: boolean;
}

export interface ExecuteOptions {
  /** Interrupt the kernel when no execute_reply arrives within this many ms (default 120 000). */
  timeoutMs?: number;
  /** After idle, keep listening this long for late output of the same cell (default 25 ms). */
  lingerMs?: number;
  /**
   * Jupyter's stop_on_error: when true and the cell fails, the kernel aborts the requests queued
   * behind it (what "Run All" sends for untagged cells). Default false: one cell at a time.
   */
  stopOnError?: boolean;
}

interface Waiter {
  onShell?: (m: JupyterMessage) => void;
  onIopub?: (m: JupyterMessage) => void;
}

/** Asks the OS for `n` distinct free TCP ports on 127.0.0.1. */
async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => s.once("error", rej).listen(0, "127.0.0.1", () => res()));
      ports.push((s.address() as net.AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((res) => s.close(res))));
  }
}

/** Path of tslab's launcher script, resolved from this package's dependencies. */
export function tslabBin(): string {
  return path.join(path.dirname(require.resolve("tslab/package.json")), "bin", "tslab");
}

/** zeromq v6 is tslab's dependency; resolve it from tslab when it is not hoisted. */
function loadZmq(): typeof Zmq {
  try {
    return require("zeromq");
  } catch {
    const fromTslab = require.resolve("zeromq", { paths: [path.dirname(require.resolve("tslab/package.json"))] });
    return require(fromTslab);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What tslab logs when it replied before its sockets were bound (see KernelClient.start). */
const BIND_RACE = "Socket is blocked by a bind or unbind operation";

/** A running tslab kernel and the sockets connected to it. */
export class KernelClient {
  /** Text the kernel process wrote to its real stdout/stderr (start-up problems show here). */
  processLog = "";
  private readonly session = randomUUID();
  private readonly waiters = new Map<string, Waiter>();
  private closed = false;
  private exited: { code: number | null; signal: string | null } | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly key: string,
    private readonly shell: Zmq.Dealer,
    private readonly control: Zmq.Dealer,
    private readonly iopub: Zmq.Subscriber,
    private readonly connectionFile: string,
  ) {
    child.stdout?.on("data", (d: Buffer) => this.log(d));
    child.stderr?.on("data", (d: Buffer) => this.log(d));
    child.on("exit", (code, signal) => {
      this.exited = { code, signal };
    });
    child.on("error", (err) => {
      this.log(Buffer.from(`cannot start tslab: ${err.message}\n`));
      this.exited = { code: null, signal: null };
    });
    void this.pump(shell, "shell");
    void this.pump(control, "shell");
    void this.pump(iopub, "iopub");
  }

  /**
   * Starts tslab in `opts.cwd` and waits until it answers kernel_info on shell and publishes on
   * iopub. Throws `tslab kernel did not start within N s` (with the kernel's own output) otherwise.
   */
  static async start(opts: KernelStartOptions): Promise<KernelClient> {
    // tslab can answer its first kernel_info before its own sockets finish binding; zeromq then
    // refuses the send ("Socket is blocked by a bind or unbind operation", EBUSY) and that kernel
    // never answers. Seen once in a full test run under load: start a fresh kernel, on new ports.
    for (let attempt = 1; ; attempt++) {
      try {
        return await KernelClient.startOnce(opts);
      } catch (e) {
        if (attempt >= 3 || !(e instanceof Error) || !e.message.includes(BIND_RACE)) throw e;
      }
    }
  }

  private static async startOnce(opts: KernelStartOptions): Promise<KernelClient> {
    if (!fs.existsSync(opts.cwd) || !fs.statSync(opts.cwd).isDirectory()) {
      throw new Error(`tslab kernel: working directory ${opts.cwd} does not exist`);
    }
    const zmq = loadZmq();
    const [shellPort, iopubPort, stdinPort, controlPort, hbPort] = await freePorts(5);
    const key = randomBytes(32).toString("hex");
    const connection = {
      transport: "tcp",
      ip: "127.0.0.1",
      shell_port: shellPort,
      iopub_port: iopubPort,
      stdin_port: stdinPort,
      control_port: controlPort,
      hb_port: hbPort,
      key,
      signature_scheme: "hmac-sha256",
      kernel_name: opts.js ? "jslab" : "tslab",
    };
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "linearity-kernel-"));
    const connectionFile = path.join(dir, "connection.json");
    fs.writeFileSync(connectionFile, JSON.stringify(connection), { mode: 0o600 });

    const args = [tslabBin(), "kernel", "--config-path", connectionFile];
    if (opts.js) args.push("--js");
    const child = spawn(process.execPath, args, {
      cwd: opts.cwd,
      env: { ...process.env, ...opts.env },
      stdio: ["ignore", "pipe", "pipe"],
    });

    const shell = new zmq.Dealer({ linger: 0 });
    const control = new zmq.Dealer({ linger: 0 });
    const iopub = new zmq.Subscriber({ linger: 0 });
    iopub.subscribe();
    shell.connect(`tcp://127.0.0.1:${shellPort}`);
    control.connect(`tcp://127.0.0.1:${controlPort}`);
    iopub.connect(`tcp://127.0.0.1:${iopubPort}`);
    const kernel = new KernelClient(child, key, shell, control, iopub, connectionFile);
    try {
      await kernel.waitReady(opts.startupTimeoutMs ?? 60_000);
    } catch (e) {
      await kernel.shutdown();
      throw e;
    }
    return kernel;
  }

  /** The kernel's process id. */
  get pid(): number | undefined {
    return this.child.pid;
  }

  /** True while the kernel process runs. */
  get alive(): boolean {
    return this.exited === undefined && !this.closed;
  }

  private log(d: Buffer): void {
    // Keep the tail only: this is for error messages.
    this.processLog = (this.processLog + d.toString("utf8")).slice(-20_000);
  }

  private async pump(sock: Zmq.Dealer | Zmq.Subscriber, channel: "shell" | "iopub"): Promise<void> {
    try {
      for await (const frames of sock) {
        let msg: JupyterMessage;
        try {
          msg = decodeMessage(this.key, frames as Buffer[]);
        } catch {
          continue; // not ours or corrupt; Jupyter clients drop these too
        }
        const parent = msg.parent_header.msg_id;
        const waiter = parent === undefined ? undefined : this.waiters.get(parent);
        if (channel === "shell") waiter?.onShell?.(msg);
        else waiter?.onIopub?.(msg);
      }
    } catch {
      // socket closed
    }
  }

  /** Sends a request and resolves with its reply (shell or control). */
  private async request(
    channel: "shell" | "control",
    msgType: string,
    content: unknown,
    timeoutMs: number,
    onIopub?: (m: JupyterMessage) => void,
  ): Promise<{ reply: JupyterMessage; msgId: string } | undefined> {
    const msg = newMessage(this.session, msgType, content);
    const msgId = msg.header.msg_id;
    let timer: NodeJS.Timeout | undefined;
    const reply = new Promise<JupyterMessage | undefined>((resolve) => {
      this.waiters.set(msgId, { onShell: resolve, onIopub });
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    await (channel === "shell" ? this.shell : this.control).send(encodeMessage(this.key, msg));
    const r = await reply;
    clearTimeout(timer);
    return r === undefined ? undefined : { reply: r, msgId };
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    // Like nbval/jupyter_client: repeat kernel_info until both shell and iopub answer, since
    // iopub subscriptions take a moment to propagate (ZeroMQ "slow joiner").
    while (Date.now() < deadline) {
      if (this.exited) {
        throw new Error(
          `tslab kernel exited during start-up (code ${this.exited.code}, signal ${this.exited.signal}):\n${this.processLog}`,
        );
      }
      if (this.processLog.includes(BIND_RACE)) throw new Error(`tslab kernel failed to start: ${BIND_RACE}`);
      let sawIopub = false;
      const r = await this.request("shell", "kernel_info_request", {}, Math.min(2000, Math.max(1, deadline - Date.now())), () => {
        sawIopub = true;
      });
      if (r) {
        await sleep(50);
        if (sawIopub) {
          this.waiters.delete(r.msgId);
          this.info = r.reply.content;
          return;
        }
      }
      if (r) this.waiters.delete(r.msgId);
    }
    throw new Error(`tslab kernel did not start within ${Math.round(timeoutMs / 1000)} s; its output:\n${this.processLog}`);
  }

  /** The kernel_info_reply content received at start-up. */
  info: Record<string, unknown> = {};

  /**
   * Executes `code` and collects its iopub messages until the reply has arrived and the kernel
   * went idle for this request, plus `lingerMs` for output written by callbacks afterwards.
   * On timeout the kernel is interrupted (SIGINT) and the outcome has status "timeout".
   */
  async execute(code: string, opts: ExecuteOptions = {}): Promise<ExecuteOutcome> {
    if (!this.alive) throw new Error("tslab kernel is not running" + (this.exited ? ` (exited with code ${this.exited.code})` : ""));
    const timeoutMs = opts.timeoutMs ?? 120_000;
    const lingerMs = opts.lingerMs ?? 25;
    const iopub: JupyterMessage[] = [];
    let idle!: () => void;
    const idlePromise = new Promise<void>((r) => (idle = r));
    const start = Date.now();
    const onIopub = (m: JupyterMessage) => {
      if (m.header.msg_type === "status") {
        if ((m.content as { execution_state?: string }).execution_state === "idle") idle();
        return;
      }
      iopub.push(m);
    };
    const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: opts.stopOnError ?? false };
    let r = await this.request("shell", "execute_request", content, timeoutMs, onIopub);
    let status: ExecuteOutcome["status"];
    let msgId: string | undefined = r?.msgId;
    if (r === undefined) {
      // Timed out: interrupt and give the kernel a few seconds to reply.
      status = "timeout";
      this.interrupt();
      const pending = [...this.waiters.entries()].find(([, w]) => w.onIopub === onIopub);
      msgId = pending?.[0];
      if (pending) {
        const late = await Promise.race([
          new Promise<JupyterMessage>((res) => (pending[1].onShell = res)),
          sleep(5000).then(() => undefined),
        ]);
        if (late) r = { reply: late, msgId: pending[0] };
      }
    } else {
      status = (r.reply.content as { status?: string }).status as ExecuteOutcome["status"];
    }
    if (r) await Promise.race([idlePromise, sleep(5000)]);
    // An unpatched tslab aborts every request that arrives within 200 ms of an error, whatever
    // stop_on_error says (see patches/tslab+1.0.22.patch); waiting makes both versions behave.
    await sleep(status === "ok" ? lingerMs : Math.max(lingerMs, 250));
    if (msgId) this.waiters.delete(msgId);
    const count = r ? (r.reply.content as { execution_count?: number }).execution_count : undefined;
    return { status, executionCount: typeof count === "number" ? count : null, iopub, elapsedMs: Date.now() - start };
  }

  /** Sends a kernel_info_request, as a front end does whenever it (re)connects to the kernel. */
  async kernelInfo(timeoutMs = 10_000): Promise<Record<string, unknown>> {
    const r = await this.request("shell", "kernel_info_request", {}, timeoutMs);
    if (r === undefined) throw new Error(`tslab kernel did not answer kernel_info within ${Math.round(timeoutMs / 1000)} s`);
    this.waiters.delete(r.msgId);
    return r.reply.content as Record<string, unknown>;
  }

  /** Interrupts the running cell: tslab handles SIGINT (it has no interrupt_mode "message"). */
  interrupt(): void {
    if (this.alive && this.child.pid !== undefined) this.child.kill("SIGINT");
  }

  /** Asks the kernel to shut down, kills it if it has not exited within `graceMs`, closes sockets. */
  async shutdown(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    if (this.exited === undefined) {
      await this.request("control", "shutdown_request", { restart: false }, Math.min(graceMs, 1000)).catch(() => undefined);
      const deadline = Date.now() + graceMs;
      while (this.exited === undefined && Date.now() < deadline) await sleep(20);
      if (this.exited === undefined) this.child.kill("SIGKILL");
    }
    this.closed = true;
    for (const s of [this.shell, this.control, this.iopub]) s.close();
    fs.rmSync(path.dirname(this.connectionFile), { recursive: true, force: true });
  }
}
