import { burst } from "../burst.js";
import { waitFor } from "../children.js";
import { BENCH_FILTER, writeSwitchyardConfig } from "../configs.js";
import { type BenchContext, quietest } from "../context.js";
import { cpuSnapshot, otherCores } from "../noise.js";
import { sinkStats, startSink, startSwitchyard } from "../servers.js";

/**
 * End-to-end HTTP delivery: N events accepted by Switchyard, all delivered to the sink. The
 * rate runs from the first 202 to the sink's last delivery, so it includes the ingest the
 * worker competes with; compared with the ingest rate (can delivery keep up with a burst?).
 */

export interface DeliveryResult {
  events: number;
  accepted: number;
  failed: number;
  delivered: number;
  targetConcurrency: number;
  /** Accepted/s while the burst was sent (by the bench's own Node client, not wrk). */
  burstIngestRate: number;
  /** Delivered/s from the first accept to the last delivery. */
  deliveryRate: number;
  /** How long the sink kept receiving after the last 202. */
  tailAfterLastAcceptS: number;
  peakRssMiB: number;
  /** Average cores other processes used meanwhile (noise). */
  otherCpuCores: number;
  notes: string[];
}

/** Bound on waiting for the last deliveries; a healthy run needs a few seconds. */
const DRAIN_TIMEOUT_MS = 120_000;

export function delivery(ctx: BenchContext): Promise<DeliveryResult> {
  const { events, deliveryConcurrency } = ctx.options;
  ctx.progress(`delivery: ${events} events → switchyard → HTTP sink (target concurrency ${deliveryConcurrency})`);
  return quietest(
    ctx,
    "delivery",
    () => deliveryOnce(ctx),
    (r) => r.otherCpuCores,
  );
}

/** One run on a fresh sink and a fresh, empty store. */
async function deliveryOnce(ctx: BenchContext): Promise<DeliveryResult> {
  const { events, connections, deliveryConcurrency } = ctx.options;
  await ctx.quiet();
  const sink = await startSink(ctx.children);
  try {
    const config = writeSwitchyardConfig(ctx.workDir, `${ctx.fresh("delivery")}.yaml`, [
      {
        name: "github",
        path: "/hooks/github",
        secret: ctx.payload.secret,
        filter: BENCH_FILTER,
        target: { type: "http", url: `${sink.base}/deliver`, concurrency: deliveryConcurrency },
      },
    ]);
    const sy = await startSwitchyard(ctx.children, config);
    try {
      const noise = cpuSnapshot(ctx.children.livePids());
      const sent = await burst(`${sy.base}/hooks/github`, ctx.payload, events, connections);
      const notes: string[] = [];
      let stats = await sinkStats(sink);
      try {
        stats = await waitFor(
          async () => {
            const s = await sinkStats(sink);
            return s.count >= sent.accepted ? s : undefined;
          },
          "every accepted event to reach the sink",
          DRAIN_TIMEOUT_MS,
        );
      } catch (err) {
        stats = await sinkStats(sink);
        notes.push(`${(err as Error).message}: ${stats.count} of ${sent.accepted} delivered`);
      }
      const otherCpuCores = otherCores(noise, cpuSnapshot(ctx.children.livePids()));
      const ingestS = (sent.lastAcceptAt - sent.firstAcceptAt) / 1000;
      const deliveryS = (stats.lastAt - sent.firstAcceptAt) / 1000;
      return {
        events,
        accepted: sent.accepted,
        failed: sent.failed,
        delivered: stats.count,
        targetConcurrency: deliveryConcurrency,
        burstIngestRate: ingestS > 0 ? sent.accepted / ingestS : 0,
        deliveryRate: deliveryS > 0 ? stats.count / deliveryS : 0,
        tailAfterLastAcceptS: (stats.lastAt - sent.lastAcceptAt) / 1000,
        peakRssMiB: sy.rss.stop() / 2 ** 20,
        otherCpuCores,
        notes,
      };
    } finally {
      await sy.stop();
    }
  } finally {
    await sink.stop();
  }
}
