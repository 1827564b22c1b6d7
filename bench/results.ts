import type { Options, ServerMeasurement } from "./context.js";
import type { Machine, Source } from "./machine.js";
import type { DeliveryResult } from "./scenarios/delivery.js";
import type { ExecResult } from "./scenarios/exec.js";
import type { IngestResult } from "./scenarios/ingest.js";
import type { RoutesResult } from "./scenarios/routes.js";

/** Everything one run measured: what bench/results/<timestamp>.json holds. */
export interface Results {
  startedAt: string;
  finishedAt?: string;
  machine: Machine;
  source: Source;
  options: Options;
  ingest?: IngestResult;
  delivery?: DeliveryResult;
  exec?: ExecResult;
  routes?: RoutesResult;
  targets: TargetCheck[];
  /** Scenarios that failed; the others still ran. */
  errors: { scenario: string; message: string }[];
}

/** One of issue 5's targets against this run's numbers. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

const x = (n: number) => `${n.toFixed(2)}×`;
const MIB_LIMIT = 150;
const P99_LIMIT_MS = 20;

function switchyardOf(servers: readonly ServerMeasurement[]): ServerMeasurement | undefined {
  return servers.find((s) => s.server === "switchyard");
}

/** Issue 5's targets, each checked only when its scenario ran. */
export function checkTargets(r: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  const sy = r.ingest ? switchyardOf(r.ingest.servers) : undefined;
  const ratios = r.ingest?.ratios;
  if (sy && ratios?.switchyardOverRaw !== undefined) {
    out.push({ target: "ingest ≥ 0.8× raw node:http req/s", measured: x(ratios.switchyardOverRaw), met: ratios.switchyardOverRaw >= 0.8 });
    const bad = sy.load.non2xx + sy.load.socketErrors;
    out.push({ target: "ingest: 0 non-2xx", measured: `${sy.load.non2xx} non-2xx, ${sy.load.socketErrors} socket errors`, met: bad === 0 });
    out.push({
      target: `ingest p99 ≤ ${P99_LIMIT_MS} ms at ${r.options.connections} connections`,
      measured: `${sy.load.p99Ms.toFixed(1)} ms`,
      met: sy.load.p99Ms <= P99_LIMIT_MS,
    });
    out.push({
      target: `ingest peak RSS ≤ ${MIB_LIMIT} MiB`,
      measured: `${sy.peakRssMiB.toFixed(0)} MiB`,
      met: sy.peakRssMiB <= MIB_LIMIT,
    });
  }
  if (ratios?.switchyardOverWebhook !== undefined) {
    out.push({
      target: "≥ 3× adnanh/webhook's accepted rate",
      measured: x(ratios.switchyardOverWebhook),
      met: ratios.switchyardOverWebhook >= 3,
    });
  }
  if (r.delivery) {
    // Against the wrk ingest rate when the ingest scenario ran (the sterner test), else the burst's own.
    const ingestRate = sy?.load.rps ?? r.delivery.burstIngestRate;
    const ratio = r.delivery.deliveryRate / ingestRate;
    const against = sy ? "ingest scenario's req/s" : "burst's accept rate";
    out.push({
      target: "HTTP delivery end to end ≥ 0.5× ingest rate",
      measured: `${x(ratio)} (${r.delivery.deliveryRate.toFixed(0)}/s vs ${ingestRate.toFixed(0)}/s, the ${against})`,
      met: ratio >= 0.5 && r.delivery.delivered >= r.delivery.accepted,
    });
  }
  if (r.exec) {
    out.push({
      target: "exec drain ≥ 0.9× raw spawn rate",
      measured: `${x(r.exec.ratio)} (${r.exec.switchyardRate.toFixed(0)}/s vs ${r.exec.rawSpawnRate.toFixed(0)}/s)`,
      met: r.exec.ratio >= 0.9 && r.exec.succeeded >= r.exec.accepted,
    });
  }
  if (r.routes) {
    out.push({ target: `${r.routes.routes} routes: ingest ≥ 0.95× of 1 route`, measured: x(r.routes.ratio), met: r.routes.ratio >= 0.95 });
    const worst = Math.max(r.routes.maxReload.toLogMs, r.routes.maxReload.toAnswerMs);
    out.push({
      target: `reload of ${r.routes.routes} routes < 1 s`,
      measured: `median ${r.routes.medianReload.toAnswerMs.toFixed(0)} ms, worst ${worst.toFixed(0)} ms (SIGHUP → new route answers)`,
      met: worst < 1000,
    });
  }
  return out;
}
