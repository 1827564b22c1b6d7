import type { ServerMeasurement } from "./context.js";
import { NOISY_CORES } from "./noise.js";
import type { Results } from "./results.js";

/** The first `left` columns left-aligned (names), the rest right-aligned (numbers), two spaces between. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], left = 1): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? "").length)));
  const line = (r: readonly string[]) =>
    r
      .map((cell, c) => (c < left ? cell.padEnd(widths[c] ?? 0) : cell.padStart(widths[c] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const n0 = (n: number) => n.toFixed(0);
const n1 = (n: number) => n.toFixed(1);
const ms = (n: number) => n.toFixed(2);

function serverRows(servers: readonly ServerMeasurement[]): string[][] {
  return servers.map((s) => [
    s.server,
    n0(s.load.rps),
    ms(s.load.p50Ms),
    ms(s.load.p99Ms),
    String(s.load.non2xx + s.load.socketErrors),
    n0(s.peakRssMiB),
    s.cpuMsPerRequest.toFixed(3),
    s.otherCpuCores.toFixed(2),
  ]);
}

const SERVER_HEADER = ["server", "req/s", "p50 ms", "p99 ms", "non-2xx+err", "peak RSS MiB", "CPU ms/req", "others' cores"];

/** Every measurement during which other processes used more than NOISY_CORES, as one warning. */
function noiseWarning(r: Results): string[] {
  const noisy: string[] = [];
  const add = (what: string, cores: number) => {
    if (cores > NOISY_CORES) noisy.push(`${what} ${cores.toFixed(2)}`);
  };
  for (const s of r.ingest?.servers ?? []) add(`ingest/${s.server}`, s.otherCpuCores);
  if (r.delivery) add("delivery", r.delivery.otherCpuCores);
  if (r.exec) {
    add("exec/raw", r.exec.otherCpuCores.raw);
    add("exec/switchyard", r.exec.otherCpuCores.switchyard);
  }
  for (const s of r.routes ? [r.routes.one, r.routes.many] : []) add(`routes/${s.server}`, s.otherCpuCores);
  return noisy.length === 0
    ? []
    : [`WARNING: other processes used CPU during these measurements (average cores): ${noisy.join(", ")}. Rerun on a quiet machine.`];
}

export function formatResults(r: Results): string {
  const out: string[] = [];
  const m = r.machine;
  const o = r.options;
  out.push(
    `Switchyard bench — ${r.startedAt}`,
    `machine: ${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Linux ${m.kernel}, Node ${m.node}`,
    `switchyard: commit ${r.source.commit}${r.source.uncommittedSrcFiles > 0 ? ` + ${r.source.uncommittedSrcFiles} uncommitted src/ files` : ""}`,
    ...(m.webhook ? [`adnanh/webhook: ${m.webhook}`] : []),
    `load: ${m.loadTool.name} ${m.loadTool.version}, ${o.connections} connections, ${o.threads} threads, ${o.durationS}s (+${o.warmupS}s warm-up) per measurement`,
    "",
  );
  if (r.ingest) {
    const servers = [...r.ingest.servers, ...(r.ingest.profile ? [r.ingest.profile.measurement] : [])];
    out.push("INGEST (same 6.9 KB signed GitHub push, side by side)", table(SERVER_HEADER, serverRows(servers)));
    const q = r.ingest.ratios;
    const ratio = (label: string, v: number | undefined) => (v === undefined ? [] : [`${label} = ${v.toFixed(2)}×`]);
    out.push(
      ...ratio("switchyard / durable baseline", q.switchyardOverDurable),
      ...ratio("switchyard / raw node:http", q.switchyardOverRaw),
      ...ratio("switchyard / adnanh/webhook", q.switchyardOverWebhook),
      ...ratio("switchyard p99 / durable baseline p99", q.p99OverDurable),
      ...ratio("switchyard with a refusing target / durable baseline", q.refusingOverDurable),
      ...ratio("durable baseline / raw node:http", q.durableOverRaw),
      ...ratio("adnanh/webhook / durable baseline", q.webhookOverDurable),
    );
    const sy = r.ingest.switchyard;
    if (sy) {
      out.push(
        `switchyard stored ${sy.acceptedByMetrics ?? "?"} events (its metrics), delivered ${sy.deliveredDuringRun} to the sink meanwhile; ${sy.warnOrErrorLogLines} warn/error log lines`,
      );
    }
    const rf = r.ingest.refusing;
    if (rf) {
      out.push(
        `switchyard with a refusing target stored ${rf.acceptedByMetrics ?? "?"} events, dead-lettered ${rf.deadDuringRun ?? "?"} meanwhile; ${rf.warnOrErrorLogLines} warn/error log lines`,
      );
    }
    out.push(...r.ingest.notes.map((n) => `note: ${n}`), "");
  }
  if (r.delivery) {
    const d = r.delivery;
    out.push(
      `DELIVERY (${d.events} events → HTTP sink, target concurrency ${d.targetConcurrency})`,
      table(
        ["accepted", "failed", "delivered", "burst accept/s", "delivered/s", "tail after last 202 s", "peak RSS MiB", "others' cores"],
        [
          [
            String(d.accepted),
            String(d.failed),
            String(d.delivered),
            n0(d.burstIngestRate),
            n0(d.deliveryRate),
            d.tailAfterLastAcceptS.toFixed(2),
            n0(d.peakRssMiB),
            d.otherCpuCores.toFixed(2),
          ],
        ],
      ),
      ...d.notes.map((n) => `note: ${n}`),
      "",
    );
  }
  if (r.exec) {
    const e = r.exec;
    out.push(
      `EXEC (${e.events} runs of /bin/true, concurrency ${e.concurrency})`,
      table(
        ["", "runs/s", "succeeded", "failed attempts", "others' cores"],
        [
          ["raw child_process.spawn", n0(e.rawSpawnRate), String(e.events), "0", e.otherCpuCores.raw.toFixed(2)],
          [
            "switchyard exec target",
            n0(e.switchyardRate),
            String(e.succeeded),
            String(e.failedAttempts),
            e.otherCpuCores.switchyard.toFixed(2),
          ],
        ],
      ),
      `switchyard / raw spawn = ${e.ratio.toFixed(2)}×`,
      ...e.notes.map((n) => `note: ${n}`),
      "",
    );
  }
  if (r.routes) {
    const t = r.routes;
    out.push(
      `ROUTES (1 route vs ${t.routes} routes, config ${t.configKiB.toFixed(0)} KiB)`,
      table(SERVER_HEADER, serverRows([t.one, t.many])),
      `${t.routes} routes / 1 route = ${t.ratio.toFixed(2)}× (medians of ${t.runs.one.length} alternating runs each; req/s: 1 route ${t.runs.one.map(n0).join(", ")}; ${t.routes} routes ${t.runs.many.map(n0).join(", ")})`,
      table(
        ["", `1 route`, `${t.routes} routes`],
        [
          ["daemon start → listening, ms", n0(t.startupMs.one), n0(t.startupMs.many)],
          ["switchyard check wall time, ms (median)", n0(t.checkMs.one), n0(t.checkMs.many)],
        ],
      ),
      `reload of ${t.routes} routes (${t.reloads.length}×): SIGHUP → "config reloaded" median ${n0(t.medianReload.toLogMs)} ms (max ${n0(t.maxReload.toLogMs)}), → new route answers median ${n0(t.medianReload.toAnswerMs)} ms (max ${n0(t.maxReload.toAnswerMs)})`,
      `ingress on one route during ${t.reloadIngress.reloads} reloads of ${t.reloadIngress.routes} routes: p50 ${n1(t.reloadIngress.duringReload.p50Ms)} ms, p99 ${n1(t.reloadIngress.duringReload.p99Ms)} ms, max ${n1(t.reloadIngress.duringReload.maxMs)} ms over ${t.reloadIngress.duringReload.requests} requests (${t.reloadIngress.duringReload.failed} not 202); without a reload: p50 ${n1(t.reloadIngress.reference.p50Ms)} ms, p99 ${n1(t.reloadIngress.reference.p99Ms)} ms, max ${n1(t.reloadIngress.reference.maxMs)} ms`,
      "",
    );
  }
  if (r.targets.length > 0) {
    out.push(
      "TARGETS (issue 12; routes and reload: issue 5)",
      table(
        ["target", "measured", ""],
        r.targets.map((t) => [t.target, t.measured, t.met ? "met" : "MISSED"]),
        3,
      ),
    );
  }
  out.push(...noiseWarning(r));
  for (const e of r.errors) out.push(`ERROR in ${e.scenario}: ${e.message}`);
  return out.join("\n");
}
