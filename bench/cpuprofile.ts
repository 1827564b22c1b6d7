import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

/**
 * A tiny analyzer for V8's .cpuprofile (what `node --cpu-prof` writes): self time per
 * function (name + file + line) and per package, so a profile can be read in a terminal and
 * its summary kept with the bench results. Open the file in Chrome DevTools for the full tree.
 *
 *   node dist/bench/cpuprofile.js FILE.cpuprofile [--top 25]
 */

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
export interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  name: string;
  /** A short place: `node_modules/pkg/file.js:line`, `src/…:line`, `node:internal/…` */
  where: string;
  selfMs: number;
  percent: number;
}

export interface ProfileSummary {
  file: string;
  /** Busy time sampled: percentages are of this. Idle time (the event loop waiting) is left out. */
  totalMs: number;
  idleMs: number;
  functions: SelfTime[];
  /** Total (inclusive) time per function: itself and everything it called; `selfMs` holds the total here. */
  inclusive: SelfTime[];
  /** Self time grouped by where the code comes from: a package, Switchyard's src, Node's internals, GC, idle. */
  groups: SelfTime[];
}

/** Shortens a script URL to what tells a reader whose code it is. */
function shortPlace(url: string): string {
  if (!url) return "";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm >= 0) return url.slice(nm + 1);
  const dist = url.indexOf("/dist/");
  if (dist >= 0) return url.slice(dist + "/dist/".length);
  return url.replace(/^file:\/\//, "");
}

function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) return functionName.startsWith("(") ? functionName : "(native / V8 builtins)";
  const nm = /\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm?.[1]) return nm[1];
  if (url.startsWith("node:")) return `node:${url.slice(5).split("/")[0] === "internal" ? "internal" : url.slice(5)}`;
  if (url.includes("/dist/src/")) return "switchyard src";
  return shortPlace(url);
}

function top(totals: Map<string, { name: string; where: string; us: number }>, totalUs: number, n: number): SelfTime[] {
  return [...totals.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, n)
    .map((t) => ({ name: t.name, where: t.where, selfMs: t.us / 1000, percent: (100 * t.us) / totalUs }));
}

/** The event loop waiting for I/O: not work, so not part of the percentages. */
const isIdle = (frame: CallFrame | undefined) => frame?.functionName === "(idle)" && !frame.url;

const keyOf = (frame: CallFrame) => {
  const name = frame.functionName || "(anonymous)";
  // lineNumber is 0-based in the profile; editors count from 1.
  const where = frame.url ? `${shortPlace(frame.url)}:${frame.lineNumber + 1}` : "";
  return { key: `${name} ${where}`, name, where };
};

/** Inclusive time: each sample counts once for every distinct function on its stack. */
function inclusiveTimes(profile: CpuProfile, byId: Map<number, ProfileNode>, topN: number): SelfTime[] {
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (isIdle(byId.get(profile.samples[i] ?? -1)?.callFrame)) continue;
    totalUs += us;
    const seen = new Set<string>();
    for (let id = profile.samples[i]; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === "(root)") continue;
      const k = keyOf(frame);
      if (seen.has(k.key)) continue;
      seen.add(k.key);
      const t = totals.get(k.key) ?? { name: k.name, where: k.where, us: 0 };
      t.us += us;
      totals.set(k.key, t);
    }
  }
  return top(totals, totalUs, topN);
}

export function summarizeProfile(file: string, topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  // Sample i lasts until sample i+1 (DevTools' convention): its time is the next delta.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    const us = profile.timeDeltas[i + 1] ?? 0;
    if (id !== undefined) selfUs.set(id, (selfUs.get(id) ?? 0) + us);
  }
  const functions = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, { name: string; where: string; us: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    if (isIdle(frame)) {
      idleUs += us;
      continue;
    }
    totalUs += us;
    const { key, name, where } = keyOf(frame);
    const f = functions.get(key) ?? { name, where, us: 0 };
    f.us += us;
    functions.set(key, f);
    const g = groupOf(frame);
    const gt = groups.get(g) ?? { name: g, where: "", us: 0 };
    gt.us += us;
    groups.set(g, gt);
  }
  return {
    file,
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    functions: top(functions, totalUs, topN),
    inclusive: inclusiveTimes(profile, byId, topN),
    groups: top(groups, totalUs, topN),
  };
}

export function formatProfile(s: ProfileSummary): string {
  const row = (t: SelfTime) =>
    `${t.selfMs.toFixed(0).padStart(8)} ms ${t.percent.toFixed(1).padStart(5)}%  ${t.name}${t.where ? `  ${t.where}` : ""}`;
  return [
    `profile ${s.file}: ${(s.totalMs / 1000).toFixed(1)} s busy (and ${(s.idleMs / 1000).toFixed(1)} s idle, left out)`,
    "self time by function:",
    ...s.functions.map(row),
    "total time (self + callees) by function:",
    ...s.inclusive.map(row),
    "self time by origin:",
    ...s.groups.map(row),
  ].join("\n");
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [file, flag, n] = process.argv.slice(2);
  if (!file) {
    process.stderr.write("usage: node dist/bench/cpuprofile.js FILE.cpuprofile [--top N]\n");
    process.exit(2);
  }
  process.stdout.write(`${formatProfile(summarizeProfile(file, flag === "--top" ? Number(n) : 25))}\n`);
}
