import type { Logger } from "pino";
import type { CompiledConfig } from "../config/compile.js";
import type { ReceiveDeps } from "../pipeline/receive.js";
import { ingestBatch } from "./relay-ingest.js";
import type { RelayMetrics } from "./relay-metrics.js";
import { RelayPuller } from "./relay-puller.js";
import type { RelaySettings } from "./relay-settings.js";

/**
 * The daemon's pullers, one per `relays:` entry. A reload starts the new ones, stops the removed
 * ones and restarts those whose settings changed; the others keep their connection.
 */
export class RelayPullers {
  private readonly running = new Map<string, { settings: string; puller: RelayPuller }>();
  /** Set by stop(): a late sync (a reload racing shutdown) must not start a puller again. */
  private stopped = false;

  constructor(
    private readonly deps: ReceiveDeps,
    private readonly metrics: RelayMetrics,
    private readonly config: () => CompiledConfig,
    private readonly log: Logger,
  ) {}

  async sync(relays: readonly RelaySettings[]): Promise<void> {
    if (this.stopped) return;
    const wanted = new Map(relays.map((r) => [r.name, r]));
    const stopping: Promise<void>[] = [];
    for (const [name, run] of this.running) {
      const next = wanted.get(name);
      if (next && JSON.stringify(next) === run.settings) continue;
      this.running.delete(name);
      stopping.push(run.puller.stop().then(() => this.log.info({ relay: name }, "relay puller stopped")));
    }
    await Promise.all(stopping);
    if (this.stopped) return;
    for (const r of relays) {
      if (this.running.has(r.name)) continue;
      const puller = this.create(r);
      this.running.set(r.name, { settings: JSON.stringify(r), puller });
      puller.start();
      this.log.info({ relay: r.name, url: redactUrl(r.url) }, "relay puller started");
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.running.values()].map((r) => r.puller.stop()));
    this.running.clear();
  }

  private create(r: RelaySettings): RelayPuller {
    const relay = r.name;
    return new RelayPuller({
      ...r,
      log: this.log,
      handle: (events) => ingestBatch(events, relay, this.config(), this.deps),
      counters: {
        pulled: (n) => this.metrics.pulled.inc({ relay }, n),
        acknowledged: (n) => this.metrics.acknowledged.inc({ relay }, n),
        reconnect: () => this.metrics.reconnects.inc({ relay }),
      },
    });
  }
}

/** A URL for the log: no user:password part. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.toString();
  } catch {
    return "(not a URL)";
  }
}
