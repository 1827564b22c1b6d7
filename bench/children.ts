import { type ChildProcess, type SpawnOptions, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** How long a process may take to exit after SIGTERM before it gets SIGKILL. */
const STOP_GRACE_MS = 10_000;

/** Signals a whole process group; false when it is already gone (ESRCH). */
function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Every process and temp folder the bench creates, so that every way out (an error, Ctrl-C,
 * the watchdog) kills and removes them all. Children are spawned `detached`, i.e. as leaders
 * of their own process group: killing the group also kills what they started (webhook's
 * /bin/true runs), and a Ctrl-C in the terminal reaches only the bench, which then cleans up.
 */
export class Children {
  private readonly groups = new Set<number>();
  private readonly dirs = new Set<string>();

  spawn(command: string, args: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], ...opts, detached: true });
    const pid = child.pid;
    if (pid !== undefined) {
      this.groups.add(pid);
      // A process that ended by itself (wrk, `switchyard check`) frees its id for reuse: forget it.
      child.once("exit", () => this.groups.delete(pid));
    }
    return child;
  }

  /** Leaders of the process groups still running (for CPU accounting). */
  livePids(): number[] {
    return [...this.groups];
  }

  tempDir(prefix: string): string {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.add(dir);
    return dir;
  }

  /** SIGTERM (or `signal`), wait for the exit, SIGKILL after the grace; the group's stragglers get SIGKILL too. */
  async stop(child: ChildProcess, signal: NodeJS.Signals = "SIGTERM"): Promise<number | null> {
    const pid = child.pid;
    if (pid === undefined) return null;
    const exited =
      child.exitCode !== null || child.signalCode !== null
        ? Promise.resolve(child.exitCode)
        : new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    killGroup(pid, signal);
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<number | null>((r) => {
        timer = setTimeout(() => {
          killGroup(pid, "SIGKILL");
          r(null);
        }, STOP_GRACE_MS);
      }),
    ]);
    clearTimeout(timer);
    killGroup(pid, "SIGKILL");
    this.groups.delete(pid);
    return code;
  }

  /** Synchronous, so it also works from a process 'exit' handler. */
  killAllNow(): void {
    for (const pgid of this.groups) killGroup(pgid, "SIGKILL");
    this.groups.clear();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    this.dirs.clear();
  }
}

/** Calls `onLine` for every complete line a stream writes. */
export function eachLine(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    buffered += chunk;
    const lines = buffered.split("\n");
    buffered = lines.pop() ?? "";
    for (const line of lines) onLine(line);
  });
}

/** Resolves with the first value `check` returns, polling every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined | Promise<T | undefined>,
  what: string,
  timeoutMs: number,
  everyMs = 20,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
