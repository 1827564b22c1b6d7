import { readdirSync, readFileSync } from "node:fs";

/**
 * How much CPU processes other than the bench's used while a measurement ran: on a shared
 * machine (2 cores, a test suite starting next door) that is what makes two runs disagree, so
 * every measurement carries it and the report flags the noisy ones.
 *
 * others = all CPU busy time (/proc/stat) − the bench's own (itself, its reaped children such
 * as wrk, and its live children). Counting reaped children through the bench's cutime/cstime
 * keeps short-lived processes (wrk, `switchyard check`, spawned /bin/true) on our side.
 */

/** USER_HZ: /proc reports CPU time in these ticks (100 on every mainstream Linux). */
const TICKS_PER_S = 100;

function systemBusyTicks(): number {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal …: user, nice and system only. Interrupt
    // time is charged to no process (so the bench's own loopback traffic would show up as
    // "others"), and steal is the hypervisor's, not a process on this machine.
    const [, user, nice, system] = line.trim().split(/\s+/).map(Number);
    return (user ?? 0) + (nice ?? 0) + (system ?? 0);
  } catch {
    return 0;
  }
}

/** utime + stime (+ cutime + cstime: its reaped children) of one process; 0 once it is gone. */
function processTicks(pid: number | "self", withReapedChildren: boolean): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat
      .slice(stat.lastIndexOf(")") + 2)
      .split(" ")
      .map(Number);
    return (f[11] ?? 0) + (f[12] ?? 0) + (withReapedChildren ? (f[13] ?? 0) + (f[14] ?? 0) : 0);
  } catch {
    return 0;
  }
}

export interface CpuSnapshot {
  at: number;
  system: number;
  ours: number;
}

/** The live processes under `roots`, roots included: children of children too (Switchyard's exec helper). */
function withDescendants(roots: Iterable<number>): Set<number> {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      // gone meanwhile
    }
  }
  const all = new Set<number>();
  const todo = [...roots];
  for (let pid = todo.pop(); pid !== undefined; pid = todo.pop()) {
    if (all.has(pid)) continue;
    all.add(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return all;
}

/** `livePids`: the bench's running children (servers, sink, load tool). */
export function cpuSnapshot(livePids: Iterable<number>): CpuSnapshot {
  let ours = processTicks("self", true);
  // Live descendants count by their own time; once reaped, in their parent's cutime
  // (webhook's /bin/true runs).
  for (const pid of withDescendants(livePids)) ours += processTicks(pid, true);
  return { at: Date.now(), system: systemBusyTicks(), ours };
}

/** Average cores used by other processes between two snapshots (clamped at 0: ticks are coarse). */
export function otherCores(start: CpuSnapshot, end: CpuSnapshot): number {
  const seconds = (end.at - start.at) / 1000;
  if (seconds <= 0) return 0;
  const others = end.system - start.system - (end.ours - start.ours);
  return Math.max(0, others / TICKS_PER_S / seconds);
}

/** Above this many cores used by others, a measurement is flagged as noisy (the idle machine shows ~0.01). */
export const NOISY_CORES = 0.1;

/** Quiet seconds in a row before a measurement starts: one quiet second is often a gap between two test files. */
const QUIET_SECONDS = 3;

/**
 * Waits, up to `maxMs`, for QUIET_SECONDS in a row in which other processes use less than
 * NOISY_CORES, so that a measurement does not start in the middle of someone's test run.
 * Bounded: after `maxMs` it measures anyway, and the measurement's own noise figure says so.
 */
export async function waitForQuiet(livePids: () => Iterable<number>, maxMs: number, progress: (line: string) => void): Promise<void> {
  if (maxMs <= 0) return;
  const deadline = Date.now() + maxMs;
  let announced = false;
  let quietInARow = 0;
  for (;;) {
    const start = cpuSnapshot(livePids());
    await new Promise((r) => setTimeout(r, 1_000));
    const cores = otherCores(start, cpuSnapshot(livePids()));
    quietInARow = cores < NOISY_CORES ? quietInARow + 1 : 0;
    if (quietInARow >= QUIET_SECONDS) return;
    if (quietInARow > 0) continue;
    if (Date.now() >= deadline) {
      progress(`  other processes still use ${cores.toFixed(2)} cores; measuring anyway (flagged in the report)`);
      return;
    }
    if (!announced)
      progress(`  other processes use ${cores.toFixed(2)} cores: waiting up to ${Math.round(maxMs / 1000)} s for a quiet machine`);
    announced = true;
  }
}
