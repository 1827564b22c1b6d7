import { readdirSync } from "node:fs";
import { isGoneState, procStat } from "../../../pipeline/proc-stat.js";

/**
 * A command's process group: `detached` makes the command the leader of a new group, and
 * everything it starts without `setsid` stays in it. Free of the daemon's other modules, like
 * exec-run.ts, which the exec helper process loads alone.
 */

/** How often a group that was sent SIGTERM is looked at again. */
const GROUP_POLL_MS = 25;

/** Signals the whole process group (`detached` made the child its leader): a script's children die with it. */
export function killGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false; // ESRCH: the group is already gone
  }
}

/**
 * Whether any process of the group still runs. A zombie does not: it has exited and waits only
 * for its parent (or, orphaned, for PID 1, which in a container may never reap it) to collect
 * its status, yet `kill(-pgid, 0)` still finds it. Without /proc, that kill is all there is.
 */
export function groupRunning(pgid: number): boolean {
  if (!killGroup(pgid, 0)) return false;
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return true;
  }
  // Fields after the command name: state, ppid, pgrp, …
  return pids.some((pid) => {
    const f = procStat(pid);
    return f !== undefined && f[2] === String(pgid) && !isGoneState(f[0]);
  });
}

/**
 * Ends a group: SIGTERM now, SIGKILL to whatever still runs after `graceMs` (time for a script's
 * `trap` to clean up). Resolves once nothing of the group runs, or once SIGKILL was sent.
 */
export function endGroup(pgid: number, graceMs: number): Promise<void> {
  if (!groupRunning(pgid) || !killGroup(pgid, "SIGTERM")) return Promise.resolve();
  return new Promise((ended) => {
    const deadline = Date.now() + graceMs;
    // Not unref'd: on shutdown the daemon should wait the grace out rather than leave survivors.
    const poll = setInterval(() => {
      if (!groupRunning(pgid)) {
        clearInterval(poll);
        ended();
      } else if (Date.now() >= deadline) {
        clearInterval(poll);
        killGroup(pgid, "SIGKILL");
        ended();
      }
    }, GROUP_POLL_MS);
  });
}
