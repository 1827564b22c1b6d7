import { type ChildProcess, fork } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { killGroup } from "./exec-group.js";
import { type RunOptions, type RunResult, run } from "./exec-run.js";
import type { HelperReply, HelperRequest } from "./helper-main.js";

export type { RunResult } from "./exec-run.js";

/**
 * Where exec targets' commands are started: in the exec helper process (see helper-main.ts)
 * when it is there to be forked, that is in the built daemon; in this process when running from
 * the TypeScript sources. Either way the same `run` does the work.
 */

/** What an exec target runs its commands with; the daemon owns one and closes it on shutdown. */
export interface CommandRunner {
  run(argv: readonly string[], opts: RunOptions): Promise<RunResult>;
}

/** The helper script beside this module (undefined when running from the sources: no helper). */
export function builtHelperPath(): string | undefined {
  const path = fileURLToPath(new URL("./helper-main.js", import.meta.url));
  return existsSync(path) ? path : undefined;
}

/**
 * The daemon's side of the exec helper: forks it on the first command (so `check`, `test` and a
 * daemon without exec targets never start one) and again after it died, and ends it on `close`.
 */
export class HelperClient implements CommandRunner {
  private helper: Helper | undefined;
  private closed = false;

  /** `helperPath`: the helper script; undefined runs commands in this process. */
  constructor(private readonly helperPath: string | undefined = builtHelperPath()) {}

  run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    // A delivery that starts after shutdown is retried, by the next daemon.
    if (this.closed) return Promise.resolve(cannotRun("the exec helper is closed: the daemon is shutting down"));
    if (this.helperPath === undefined) return run(argv, opts);
    if (!this.helper?.alive) this.helper = new Helper(this.helperPath);
    return this.helper.run(argv, opts);
  }

  /** Disconnects the helper, which ends the commands still running (none, after a drain) and exits. */
  close(): void {
    this.closed = true;
    this.helper?.close();
    this.helper = undefined;
  }
}

/** Commands are run by the daemon only: `check` and `test` compile targets but deliver nothing. */
export const NO_COMMANDS: CommandRunner = {
  run: () => Promise.resolve(cannotRun("commands are run by the daemon only")),
};

function cannotRun(message: string): RunResult {
  return { code: null, signal: null, spawnError: { code: "EHELPER", message }, stdout: "", stderr: "" };
}

interface Pending {
  done: (r: RunResult) => void;
  /** The command's process group, once started. */
  pid?: number;
  signal: AbortSignal;
  onAbort: () => void;
}

class Helper {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  alive = true;

  constructor(path: string) {
    this.child = fork(path, [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
      // No heap cap of its own: a request carries the event (up to body_limit, escaped once more).
      execArgv: [],
      serialization: "json",
    });
    this.child.on("message", (m: HelperReply) => {
      if (m.t === "done") this.finish(m.id, m.result);
      else {
        const p = this.pending.get(m.id);
        if (p) p.pid = m.pid;
      }
    });
    // A helper that cannot start or that dies fails its runs as "cannot run": retried later, by
    // a new helper. The commands it had started are killed first: nobody would hear their
    // result, and a retry must not run beside them (a target's concurrency would be exceeded).
    // (A command whose "started" had not reached us when the helper died is not known here.)
    this.child.once("error", (err) => this.fail(`the exec helper failed: ${err.message}`));
    this.child.once("exit", (code, signal) => this.fail(`the exec helper process exited (${signal ?? `code ${code}`})`));
    this.idle();
  }

  run(argv: readonly string[], opts: RunOptions): Promise<RunResult> {
    const id = this.nextId++;
    return new Promise<RunResult>((done) => {
      const onAbort = () => this.send({ t: "abort", id });
      this.pending.set(id, { done, signal: opts.signal, onAbort });
      if (this.pending.size === 1) this.busy();
      const env: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.env)) if (v !== undefined) env[k] = v;
      const keep = opts.keepStdout === undefined ? {} : { keepStdout: opts.keepStdout };
      this.send({ t: "run", id, argv: [...argv], cwd: opts.cwd, env, stdin: opts.stdin, timeoutMs: opts.timeoutMs, ...keep });
      opts.signal.addEventListener("abort", onAbort, { once: true });
      if (opts.signal.aborted) onAbort();
    });
  }

  close(): void {
    this.alive = false;
    this.child.disconnect?.();
  }

  private send(m: HelperRequest): void {
    if (!this.alive || !this.child.connected) return;
    this.child.send(m, (err) => {
      if (err) this.child.kill("SIGKILL"); // the channel broke: its exit fails what is pending
    });
  }

  private finish(id: number, result: RunResult): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.signal.removeEventListener("abort", p.onAbort);
    if (this.pending.size === 0) this.idle();
    p.done(result);
  }

  private fail(message: string): void {
    this.alive = false;
    for (const [id, p] of [...this.pending]) {
      if (p.pid !== undefined) killGroup(p.pid, "SIGKILL");
      this.finish(id, cannotRun(message));
    }
  }

  /** An idle helper does not keep the daemon (or a test) alive. */
  private idle(): void {
    this.child.unref();
    this.child.channel?.unref();
  }

  private busy(): void {
    this.child.ref();
    this.child.channel?.ref();
  }
}
