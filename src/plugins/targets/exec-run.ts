import { type ChildProcess, spawn } from "node:child_process";

/**
 * Running one command: no shell, stdin fed, output bounded, the whole process group killed on
 * timeout or abort. Kept free of the daemon's other modules: the exec helper process
 * (exec-helper.ts) loads only this, so it stays small and forks fast.
 */

/** Output kept per stream: the end of a log is where the error is. */
const MAX_OUTPUT_BYTES = 16 * 1024;
/** How far into truncated output to look for the start of a line. */
const LINE_SEARCH_BYTES = 4 * 1024;
/** Time between SIGTERM and SIGKILL: long enough for a script's `trap` to clean up. */
const KILL_GRACE_MS = 5_000;
/** After the command exits, how long its pipes may take to deliver the last output. */
const OUTPUT_SETTLE_MS = 250;

/** Keeps the last MAX_OUTPUT_BYTES of a stream, and whether anything before them was dropped. */
class Tail {
  private chunks: Buffer[] = [];
  private size = 0;
  truncated = false;
  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.chunks.length > 1 && this.size - (this.chunks[0]?.length ?? 0) >= MAX_OUTPUT_BYTES) {
      this.size -= this.chunks.shift()?.length ?? 0;
      this.truncated = true;
    }
  }
  text(): string {
    const all = Buffer.concat(this.chunks);
    if (all.length > MAX_OUTPUT_BYTES) this.truncated = true;
    let kept = all.subarray(Math.max(0, all.length - MAX_OUTPUT_BYTES));
    if (this.truncated) {
      // Start at a line: a value the cut splits (a token the command printed) would no longer
      // be recognised by the daemon's redaction.
      const newline = kept.indexOf(0x0a);
      if (newline >= 0 && newline < LINE_SEARCH_BYTES) kept = kept.subarray(newline + 1);
    }
    return (this.truncated ? "[…truncated] " : "") + kept.toString("utf8");
  }
}

/** Signals the whole process group (`detached` made the child its leader): a script's children die with it. */
export function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

function startError(e: unknown): { code?: string; message: string } {
  const err = e as NodeJS.ErrnoException;
  return err?.code === undefined ? { message: String(err?.message ?? e) } : { code: err.code, message: err.message };
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why the command could not start (ENOENT, EACCES, …); plain data, so it crosses the helper's pipe. */
  spawnError?: { code?: string; message: string };
  stopped?: "timeout" | "shutdown";
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called with the pid of the started command (the leader of its process group). */
  onStart?: (pid: number) => void;
}

/** Runs argv without a shell, feeds stdin, waits for the exit; on timeout or abort kills the group. */
export function run(argv: readonly string[], opts: RunOptions) {
  return new Promise<RunResult>((done) => {
    const [command = "", ...args] = argv;
    const out = new Tail();
    const err = new Tail();
    let stopped: RunResult["stopped"];
    let child: ChildProcess;
    let finished = false;
    const finish = (r: Pick<RunResult, "code" | "signal" | "spawnError">) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      done({ ...r, stopped, stdout: out.text(), stderr: err.text() });
    };
    const stop = (why: "timeout" | "shutdown") => {
      if (stopped || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopped = why;
      const pid = child.pid;
      killGroup(pid, "SIGTERM");
      // Not unref'd: on shutdown the daemon should wait the grace out rather than leave survivors.
      setTimeout(() => killGroup(pid, 0) && killGroup(pid, "SIGKILL"), KILL_GRACE_MS);
    };
    const onAbort = () => stop("shutdown");
    const timer = setTimeout(() => stop("timeout"), opts.timeoutMs);
    try {
      // shell: false, always: argv elements reach the command byte for byte, `$(…)` and `;` included.
      child = spawn(command, args, { cwd: opts.cwd, env: opts.env, shell: false, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    } catch (e) {
      // spawn throws (rather than emitting "error") on arguments it refuses outright.
      clearTimeout(timer);
      return done({ code: null, signal: null, spawnError: startError(e), stdout: "", stderr: "" });
    }
    if (child.pid !== undefined) opts.onStart?.(child.pid);
    child.stdout?.on("data", (c: Buffer) => out.push(c));
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    // A command that does not read stdin closes it: EPIPE here is normal, not a failure.
    child.stdin?.on("error", () => {});
    child.stdin?.end(opts.stdin);
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish({ code: null, signal: null, spawnError: startError(e) });
    });
    child.once("exit", (code, sig) => {
      // A background grandchild may hold the pipes open for ever: give them a moment, not more.
      const settle = setTimeout(() => finish({ code, signal: sig }), OUTPUT_SETTLE_MS);
      child.once("close", () => {
        clearTimeout(settle);
        finish({ code, signal: sig });
      });
    });
    opts.signal.addEventListener("abort", onAbort, { once: true });
    if (opts.signal.aborted) onAbort();
  });
}
