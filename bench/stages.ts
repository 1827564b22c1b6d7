import { readFileSync } from "node:fs";
import type { CallFrame, CpuProfile } from "./cpuprofile.js";

/**
 * Splits a V8 .cpuprofile's busy time into the stages of Switchyard's work, so a profile answers
 * "where do the extra instructions go" in a few lines rather than a call tree. Each sample goes
 * to the first stage, walking from the running function towards the root, whose pattern matches
 * a frame; the broad stages (the HTTP framework, Node's HTTP and sockets) are tried only when no
 * specific one matched, so JSON.parse called by the ingress counts as the ingress's JSON work.
 */

interface Stage {
  name: string;
  matches: (f: CallFrame) => boolean;
}

const inFile = (part: string) => (f: CallFrame) => f.url.includes(part);
const named = (re: RegExp) => (f: CallFrame) => re.test(f.functionName);

/** Specific stages, in the order they are tried at each frame. */
const SPECIFIC: Stage[] = [
  { name: "garbage collection", matches: named(/^\(garbage collector\)$/) },
  { name: "verify (HMAC of the body)", matches: inFile("/plugins/verifiers/") },
  { name: "route/target filters and transforms (JSONata)", matches: inFile("/node_modules/jsonata/") },
  { name: "logging (pino)", matches: (f) => f.url.includes("/node_modules/pino") || f.url.includes("/node_modules/sonic-boom/") },
  { name: "metrics (prom-client)", matches: inFile("/node_modules/prom-client/") },
  { name: "console counters and attempt records", matches: inFile("/src/console/") },
  { name: "store: SQLite statements and transactions", matches: (f) => f.url.includes("/src/store/") || f.url.includes("better-sqlite3") },
  { name: "worker: delivery over HTTP (undici)", matches: inFile("/node_modules/undici/") },
  {
    name: "worker: claims, targets, settlements",
    matches: (f) => /\/src\/pipeline\/(worker|settle|fresh-events|failing-targets)/.test(f.url) || f.url.includes("/plugins/targets/"),
  },
  { name: "ingress: body, JSON, event, admission", matches: (f) => f.url.includes("/src/pipeline/") || f.url.includes("/src/server/") },
];

/** Broad stages, tried when no specific stage matched anywhere on the stack. */
const BROAD: Stage[] = [
  {
    name: "HTTP framework (koa, @koa/router)",
    matches: (f) => /\/node_modules\/(koa|@koa|on-finished|statuses|content-type|accepts|type-is)/.test(f.url),
  },
  {
    name: "Node HTTP and sockets",
    matches: (f) =>
      /^node:(_http|http|net|stream|internal\/(streams|http|stream_base|net))/.test(f.url) ||
      f.functionName === "writev" ||
      f.functionName === "writeUtf8String",
  },
  { name: "Switchyard, other", matches: inFile("/dist/src/") },
];

export interface StageShare {
  stage: string;
  ms: number;
  percent: number;
}

export function profileStages(file: string): { busyMs: number; stages: StageShare[] } {
  const profile = JSON.parse(readFileSync(file, "utf8")) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const totals = new Map<string, number>();
  let busyUs = 0;
  // Start-up (loading modules, compiling the config) is not per-request work: samples count
  // from the first one that is inside the webhook ingress.
  let started = false;
  for (let i = 0; i < profile.samples.length; i++) {
    const leaf = profile.samples[i];
    const us = profile.timeDeltas[i + 1] ?? 0;
    const leafFrame = leaf === undefined ? undefined : byId.get(leaf)?.callFrame;
    if (!leafFrame || (leafFrame.functionName === "(idle)" && !leafFrame.url)) continue;
    const stack: CallFrame[] = [];
    for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame) stack.push(frame);
    }
    if (!started) {
      if (!stack.some((f) => f.url.includes("/src/server/ingress"))) continue;
      started = true;
    }
    busyUs += us;
    const pick = (stages: Stage[]) => {
      for (const frame of stack) for (const s of stages) if (s.matches(frame)) return s.name;
      return undefined;
    };
    const stage = pick(SPECIFIC) ?? pick(BROAD) ?? (leafFrame.functionName === "(program)" ? "V8 and Node internals (program)" : "other");
    totals.set(stage, (totals.get(stage) ?? 0) + us);
  }
  const stages = [...totals]
    .map(([stage, us]) => ({ stage, ms: us / 1000, percent: (100 * us) / (busyUs || 1) }))
    .sort((a, b) => b.ms - a.ms);
  return { busyMs: busyUs / 1000, stages };
}
