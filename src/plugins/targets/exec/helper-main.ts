import { type RunResult, run } from "./exec-run.js";

/**
 * The exec helper: a small process the daemon forks once and asks, over its IPC channel, to run
 * commands. fork() copies the page tables of the process that calls it, so spawning from the
 * daemon (100-150 MiB) costs its event loop 10-20 ms per command; from this process, which
 * loads nothing but exec-run.ts, it costs what a bare Node process pays, and not on the
 * daemon's thread. Protocol (JSON messages): {t:"run", id, argv, cwd, env, stdin, timeoutMs, keepStdout?}
 * and {t:"abort", id} in; {t:"started", id, pid} and {t:"done", id, result} out.
 */

export interface RunRequest {
  t: "run";
  id: number;
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  keepStdout?: number;
}
export type HelperRequest = RunRequest | { t: "abort"; id: number };
export type HelperReply = { t: "started"; id: number; pid: number } | { t: "done"; id: number; result: RunResult };

const runs = new Map<number, AbortController>();

process.on("message", (m: HelperRequest) => {
  if (m.t === "abort") {
    runs.get(m.id)?.abort();
    return;
  }
  const stop = new AbortController();
  runs.set(m.id, stop);
  const reply = (r: HelperReply) => {
    if (process.connected) process.send?.(r);
  };
  const onStart = (pid: number) => reply({ t: "started", id: m.id, pid });
  const opts = { cwd: m.cwd, env: m.env, stdin: m.stdin, timeoutMs: m.timeoutMs, keepStdout: m.keepStdout, signal: stop.signal, onStart };
  const running = run(m.argv, opts);
  // Written to the command already: not kept for as long as it runs.
  opts.stdin = "";
  m.stdin = "";
  void running.then((result) => {
    runs.delete(m.id);
    reply({ t: "done", id: m.id, result });
  });
});

// The daemon decides when commands stop: a Ctrl-C or a service manager's SIGTERM reaches the
// whole process group, and the daemon drains its deliveries (aborting them after its
// shutdown_timeout) before it exits.
process.on("SIGINT", () => {});
process.on("SIGTERM", () => {});
process.on("SIGHUP", () => {});
// The daemon is gone (after a drain, nothing is running; after a crash, its deliveries will be
// retried by the next daemon, which must not find the old runs still going beside them): stop
// every command (SIGTERM to its group, SIGKILL after the grace) and exit once they are gone.
process.on("disconnect", () => {
  for (const stop of runs.values()) stop.abort();
});
