import { type ChildProcess, spawn } from "node:child_process";
import { endGroup, groupRunning } from "./exec-group.js";

/**
 * Running one command: no shell, stdin fed, output bounded, the whole process group ended on
 * timeout, on abort, and when the command exits: what it left running in its group (`cmd &`)
 * would otherwise outlive it, one more on every retry. Kept free of the daemon's other modules: the exec helper process
 * (helper-main.ts) loads only this, so it stays small and forks fast.
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
  /** The command exited leaving processes running in its group; they were ended (SIGTERM, SIGKILL after the grace). */
  leftovers?: boolean;
  stdout: string;
  stderr: string;
  /**
   * With `keepStdout`: the start of stdout, base64 (it crosses the helper's JSON pipe byte for
   * byte), at most `keepStdout` + 1 bytes, so a longer output shows as one byte over.
   */
  stdoutHead?: string;
}

export interface RunOptions {
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdin: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** Called with the pid of the started command (the leader of its process group). */
  onStart?: (pid: number) => void;
  /** Keep the first this many bytes of stdout whole (the answer to a webhook), beside the tail. */
  keepStdout?: number;
}

/** The first `max` + 1 bytes of a stream: enough to know whether it was longer than `max`. */
class Head {
  private chunks: Buffer[] = [];
  private size = 0;
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    const room = this.max + 1 - this.size;
    if (room <= 0) return;
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    this.chunks.push(kept);
    this.size += kept.length;
  }
  base64(): string {
    return Buffer.concat(this.chunks).toString("base64");
  }
}

/** Runs argv without a shell, feeds stdin, waits for the exit; on timeout or abort kills the group. */
export function run(argv: readonly string[], opts: RunOptions) {
  return new Promise<RunResult>((done) => {
    const [command = "", ...args] = argv;
    const out = new Tail();
    const err = new Tail();
    const head = opts.keepStdout === undefined ? undefined : new Head(opts.keepStdout);
    let stopped: RunResult["stopped"];
    let leftovers = false;
    let child: ChildProcess;
    let finished = false;
    let ending: Promise<void> | undefined;
    const finish = (r: Pick<RunResult, "code" | "signal" | "spawnError">) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
      child.stdout?.destroy();
      child.stderr?.destroy();
      const kept = head ? { stdoutHead: head.base64() } : {};
      done({ ...r, stopped, ...(leftovers ? { leftovers } : {}), stdout: out.text(), stderr: err.text(), ...kept });
    };
    /** One SIGTERM-then-SIGKILL sequence per run, shared by a timeout, an abort and the exit. */
    const end = (pid: number) => {
      ending ??= endGroup(pid, KILL_GRACE_MS);
      return ending;
    };
    const stop = (why: "timeout" | "shutdown") => {
      if (stopped || child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
      stopped = why;
      void end(child.pid);
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
    child.stdout?.on("data", (c: Buffer) => {
      out.push(c);
      head?.push(c);
    });
    child.stderr?.on("data", (c: Buffer) => err.push(c));
    // A command that does not read stdin closes it: EPIPE here is normal, not a failure.
    child.stdin?.on("error", () => {});
    child.stdin?.end(opts.stdin);
    child.once("error", (e: NodeJS.ErrnoException) => {
      if (child.pid === undefined) finish({ code: null, signal: null, spawnError: startError(e) });
    });
    const pid = child.pid;
    const closed = new Promise<void>((r) => child.once("close", () => r()));
    child.once("exit", (code, sig) => {
      // What the command left in its group goes with it (a process that must outlive the command
      // leaves the group with setsid); the delivery settles only once the group has ended, so a
      // retry never runs beside the leftovers of the attempt before.
      if (pid !== undefined && !stopped && groupRunning(pid)) leftovers = true;
      const ended = pid === undefined ? Promise.resolve() : end(pid);
      void ended.then(async () => {
        // A process outside the group (setsid) may hold the pipes open for ever: give them a moment, not more.
        let settle: NodeJS.Timeout | undefined;
        await Promise.race([closed, new Promise<void>((r) => (settle = setTimeout(r, OUTPUT_SETTLE_MS)))]);
        clearTimeout(settle);
        finish({ code, signal: sig });
      });
    });
    opts.signal.addEventListener("abort", onAbort, { once: true });
    if (opts.signal.aborted) onAbort();
  });
}
