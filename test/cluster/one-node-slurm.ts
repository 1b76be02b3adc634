/**
 * A real one-node Slurm cluster for tests, started from Debian's slurm-wlm and munge packages and
 * torn down afterwards: munged (its own 1,024-byte key, owner munge, mode 400, its own socket),
 * `slurmctld -D` and `slurmd -D` in the foreground, with a minimal slurm.conf in a temp folder
 * (no cgroups, no accounting, free ports, state and spool in the folder). Nothing under /etc is
 * read or written: the commands find the cluster through SLURM_CONF, slurm.conf finds munged
 * through AuthInfo=socket=. Needs root (slurmd starts jobs as their user; munged runs as munge).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";

const PROGRAMS = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol", "scancel", "sinfo", "setpriv"];

/** Why a one-node cluster cannot start here, or undefined when it can. */
export function slurmUnavailable(): string | undefined {
  const missing = PROGRAMS.filter((p) => spawnSync("sh", ["-c", `command -v ${p}`], { stdio: "ignore" }).status !== 0);
  if (missing.length > 0) return `${missing.join(", ")} not found (apt-get install slurm-wlm munge)`;
  if (process.getuid?.() !== 0) return "not root (slurmd starts jobs as their user and munged runs as the munge user)";
  if (spawnSync("id", ["-u", "munge"], { stdio: "ignore" }).status !== 0) return "no munge user (apt-get install munge creates it)";
  return undefined;
}

/** A free TCP port on this machine (the kernel's pick). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

async function until(what: string, ok: () => boolean, seconds: number, log: () => string): Promise<void> {
  const deadline = Date.now() + seconds * 1000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`one-node Slurm: ${what} not after ${seconds} s\n${log()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** A job's or array task's final state as scontrol reports it. */
export interface JobRecord {
  id: string;
  state: string;
  exitCode: string;
  /** Submit, start and end times as scontrol prints them (seconds resolution). */
  submit: string;
  start: string;
  end: string;
}

const TERMINAL = /^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)/;

export class OneNodeSlurm {
  /** The environment the Slurm commands need to reach this cluster (SLURM_CONF). */
  readonly env: NodeJS.ProcessEnv;
  private readonly daemons: { name: string; child: ChildProcess; output: string[] }[] = [];

  private constructor(readonly dir: string) {
    // Not the SLURM_* of a job this test may itself run in: only this cluster's slurm.conf.
    const outside = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SLURM_")));
    this.env = { ...outside, SLURM_CONF: path.join(dir, "slurm.conf") };
  }

  /** Start munged, slurmctld and slurmd; resolves once the node is idle. Stops what it started on failure. */
  static async start(): Promise<OneNodeSlurm> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "one-node-slurm-"));
    fs.chmodSync(dir, 0o755); // munged, running as munge, must reach its socket folder below
    const cluster = new OneNodeSlurm(dir);
    try {
      await cluster.boot();
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  private async boot(): Promise<void> {
    const dir = this.dir;
    const munge = path.join(dir, "munge");
    fs.mkdirSync(munge, { mode: 0o755 });
    const key = path.join(munge, "munge.key");
    fs.writeFileSync(key, crypto.randomBytes(1024), { mode: 0o400 });
    spawnSync("chown", ["munge:munge", munge, key], { stdio: "ignore" });
    const socket = path.join(munge, "munge.socket");
    this.daemon("munged", "setpriv", [
      "--reuid=munge", "--regid=munge", "--clear-groups", "munged", "--foreground", `--socket=${socket}`, `--key-file=${key}`,
      `--log-file=${path.join(munge, "munged.log")}`, `--pid-file=${path.join(munge, "munged.pid")}`, `--seed-file=${path.join(munge, "munged.seed")}`,
    ]);
    await until("munged's socket", () => fs.existsSync(socket), 15, () => this.logs());

    const host = os.hostname().split(".")[0];
    const [ctldPort, slurmdPort] = [await freePort(), await freePort()];
    for (const sub of ["state", "spool", "log"]) fs.mkdirSync(path.join(dir, sub));
    const memoryMb = Math.floor(os.totalmem() / 2 ** 20) - 512;
    const conf = [
      "ClusterName=linearitytest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${ctldPort}`,
      `SlurmdPort=${slurmdPort}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${socket}`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core_Memory",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "MpiDefault=none",
      "ReturnToService=2",
      "MinJobAge=600",
      `StateSaveLocation=${path.join(dir, "state")}`,
      `SlurmdSpoolDir=${path.join(dir, "spool")}`,
      `SlurmctldPidFile=${path.join(dir, "slurmctld.pid")}`,
      `SlurmdPidFile=${path.join(dir, "slurmd.pid")}`,
      `SlurmctldLogFile=${path.join(dir, "log", "slurmctld.log")}`,
      `SlurmdLogFile=${path.join(dir, "log", "slurmd.log")}`,
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${os.cpus().length} RealMemory=${memoryMb} State=UNKNOWN`,
      `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
      "",
    ].join("\n");
    fs.writeFileSync(this.env.SLURM_CONF!, conf);
    this.daemon("slurmctld", "slurmctld", ["-D", "-i", "-f", this.env.SLURM_CONF!]);
    this.daemon("slurmd", "slurmd", ["-D", "-N", host, "-f", this.env.SLURM_CONF!]);
    await until("an idle node", () => /idle/.test(this.run("sinfo", ["-h", "-o", "%T"], false).stdout), 30, () => this.logs());
  }

  private daemon(name: string, command: string, args: string[]): void {
    const child = spawn(command, args, { env: this.env, stdio: ["ignore", "pipe", "pipe"] });
    const output: string[] = [];
    child.stdout!.on("data", (d) => output.push(String(d)));
    child.stderr!.on("data", (d) => output.push(String(d)));
    child.on("error", (err) => output.push(`cannot start ${command}: ${err.message}`));
    this.daemons.push({ name, child, output });
  }

  /** The daemons' output so far (for failure messages). */
  logs(): string {
    return this.daemons.map((d) => `--- ${d.name}${d.child.exitCode !== null ? ` (exited ${d.child.exitCode})` : ""}:\n${d.output.join("").slice(-1500)}`).join("\n");
  }

  /** Run a Slurm command (or a script calling them) against this cluster. */
  run(command: string, args: string[], check = true, extraEnv: NodeJS.ProcessEnv = {}, cwd?: string): { stdout: string; stderr: string } {
    const r = spawnSync(command, args, { env: { ...this.env, ...extraEnv }, encoding: "utf8", timeout: 30_000, cwd });
    if (check && r.status !== 0) throw new Error(`${command} ${args.join(" ")}: exit ${r.status}\n${r.stderr}${r.stdout}`);
    return { stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
  }

  /** Each record (array tasks one by one) of a job as scontrol shows it. */
  jobRecords(jobId: string): JobRecord[] {
    const out = this.run("scontrol", ["show", "job", "-o", jobId], false).stdout;
    return out
      .split("\n")
      .filter((l) => l.startsWith("JobId="))
      .map((l) => {
        const field = (k: string): string => new RegExp(`(?:^| )${k}=(\\S+)`).exec(l)?.[1] ?? "";
        const task = field("ArrayTaskId");
        return {
          id: task ? `${field("ArrayJobId")}_${task}` : field("JobId"),
          state: field("JobState"),
          exitCode: field("ExitCode"),
          submit: field("SubmitTime"),
          start: field("StartTime"),
          end: field("EndTime"),
        };
      });
  }

  /** Wait until every record of each job has ended (bounded); returns all records. */
  async waitFor(jobIds: string[], seconds: number): Promise<JobRecord[]> {
    let records: JobRecord[] = [];
    await until(
      `the end of jobs ${jobIds.join(", ")}`,
      () => {
        records = jobIds.flatMap((id) => this.jobRecords(id));
        return records.length > 0 && records.every((r) => TERMINAL.test(r.state));
      },
      seconds,
      () => `${JSON.stringify(records)}\n${this.run("squeue", ["-a"], false).stdout}\n${this.logs()}`,
    );
    return records;
  }

  /** Cancel what still runs, stop the daemons (TERM, then KILL after 10 s) and remove the folder. */
  async stop(): Promise<void> {
    if (this.daemons.some((d) => d.name === "slurmctld" && d.child.exitCode === null)) {
      this.run("scancel", ["--user", os.userInfo().username], false);
    }
    // slurmd first (it ends the job steps it started), munged last (the others authenticate through it).
    for (const name of ["slurmd", "slurmctld", "munged"]) {
      const d = this.daemons.find((x) => x.name === name);
      if (d === undefined || d.child.exitCode !== null || d.child.signalCode !== null || d.child.pid === undefined) continue;
      const exited = new Promise((resolve) => d.child.once("exit", resolve));
      d.child.kill("SIGTERM");
      const timer = setTimeout(() => d.child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Process ids of the daemons that are still running (none after stop()). */
  running(): number[] {
    return this.daemons
      .map((d) => d.child.pid)
      .filter((pid): pid is number => {
        if (pid === undefined) return false;
        try {
          process.kill(pid, 0);
          return true;
        } catch {
          return false;
        }
      });
  }
}
