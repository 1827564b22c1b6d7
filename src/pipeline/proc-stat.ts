import { readFileSync } from "node:fs";

/**
 * What Linux's /proc says of a process. Free of the daemon's other modules: the exec helper
 * process loads it too (through exec-group.ts).
 */

/**
 * The fields of `/proc/PID/stat` after the command name (state, ppid, pgrp, …), undefined when
 * there is no such process or no /proc. The name is in parentheses and may hold spaces and
 * parentheses itself, so the fields are read after the last ")".
 */
export function procStat(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined;
  }
}

/** A zombie (Z) has exited and waits only to be reaped; X is a process being torn down. */
const GONE_STATES = new Set(["Z", "X", "x"]);

export function isGoneState(state: string | undefined): boolean {
  return state !== undefined && GONE_STATES.has(state);
}

/**
 * Whether the process runs. A zombie does not: it has exited, and only waits for its parent
 * (or, orphaned, for PID 1, which in a container may never reap it) to collect its status;
 * `kill(pid, 0)` still finds it. EPERM means it exists under another user, so it runs.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  return !isGoneState(procStat(pid)?.[0]);
}
