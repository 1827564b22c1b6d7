import type { Options, ServerMeasurement } from "./context.js";
import type { Machine, Source } from "./machine.js";
import type { DeliveryResult } from "./scenarios/delivery.js";
import type { ExecResult } from "./scenarios/exec.js";
import { DURABLE, type IngestResult, SWITCHYARD, SWITCHYARD_REFUSING } from "./scenarios/ingest.js";
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

/** One target against this run's numbers. */
export interface TargetCheck {
  target: string;
  measured: string;
  met: boolean;
}

const x = (n: number) => `${n.toFixed(2)}×`;
const MIB_LIMIT = 150;

function named(servers: readonly ServerMeasurement[] | undefined, name: string): ServerMeasurement | undefined {
  return servers?.find((s) => s.server === name);
}

/** Issue 12's targets (and issue 5's for routes and reload), each checked only when its scenario ran. */
export function checkTargets(r: Results): TargetCheck[] {
  const out: TargetCheck[] = [];
  const servers = r.ingest?.servers;
  const sy = named(servers, SWITCHYARD);
  const durable = named(servers, DURABLE);
  const refusing = named(servers, SWITCHYARD_REFUSING);
  const ratios = r.ingest?.ratios ?? {};
  const vs = (a: ServerMeasurement, b: ServerMeasurement) => `${a.load.rps.toFixed(0)} vs ${b.load.rps.toFixed(0)} req/s`;
  if (sy && durable && ratios.switchyardOverDurable !== undefined) {
    out.push({
      target: "ingest (route with a filter) ≥ 0.8× the durable baseline's req/s",
      measured: `${x(ratios.switchyardOverDurable)} (${vs(sy, durable)})`,
      met: ratios.switchyardOverDurable >= 0.8,
    });
  }
  if (sy && ratios.switchyardOverWebhook !== undefined) {
    out.push({
      target: "ingest ≥ 2× adnanh/webhook's req/s",
      measured: x(ratios.switchyardOverWebhook),
      met: ratios.switchyardOverWebhook >= 2,
    });
  }
  if (sy && durable && ratios.p99OverDurable !== undefined) {
    out.push({
      target: "ingest p99 ≤ 2× the durable baseline's p99",
      measured: `${x(ratios.p99OverDurable)} (${sy.load.p99Ms.toFixed(1)} vs ${durable.load.p99Ms.toFixed(1)} ms)`,
      met: ratios.p99OverDurable <= 2,
    });
  }
  if (sy) {
    const bad = sy.load.non2xx + sy.load.socketErrors;
    out.push({ target: "ingest: 0 non-2xx", measured: `${sy.load.non2xx} non-2xx, ${sy.load.socketErrors} socket errors`, met: bad === 0 });
  }
  if (refusing && durable && ratios.refusingOverDurable !== undefined) {
    out.push({
      target: "ingest with a refusing target (attempts 1) ≥ 0.6× the durable baseline",
      measured: `${x(ratios.refusingOverDurable)} (${vs(refusing, durable)})`,
      met: ratios.refusingOverDurable >= 0.6 && refusing.load.non2xx + refusing.load.socketErrors === 0,
    });
  }
  if (r.delivery) {
    // Against the wrk ingest rate when the ingest scenario ran (the sterner test), else the burst's own.
    const ingestRate = sy?.load.rps ?? r.delivery.burstIngestRate;
    const ratio = r.delivery.deliveryRate / ingestRate;
    const against = sy ? "ingest scenario's req/s" : "burst's accept rate";
    out.push({
      target: "HTTP delivery drain ≥ 0.5× ingest rate",
      measured: `${x(ratio)} (${r.delivery.deliveryRate.toFixed(0)}/s vs ${ingestRate.toFixed(0)}/s, the ${against})`,
      met: ratio >= 0.5 && r.delivery.delivered >= r.delivery.accepted,
    });
  }
  const peaks = [sy?.peakRssMiB, refusing?.peakRssMiB, r.delivery?.peakRssMiB].filter((p): p is number => p !== undefined);
  if (peaks.length > 0) {
    const peak = Math.max(...peaks);
    out.push({ target: `peak RSS under load ≤ ${MIB_LIMIT} MiB`, measured: `${peak.toFixed(0)} MiB`, met: peak <= MIB_LIMIT });
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
