import type { Logger } from "pino";
import { RelayClient, type RelayClientOptions, stallMarginMs } from "./relay-client.js";
import type { WireEvent } from "./relay-wire.js";

/**
 * What became of one pulled event: `ack` (stored here, a duplicate, or refused for good), or
 * `keep` (could not be taken now: the store is down, no route has its path). A batch stops at
 * its first `keep`, so events enter in the order the edge received them; the edge hands the
 * kept ones out again when their lease expires.
 */
export type Handled = "ack" | "keep";

export interface PullerCounters {
  pulled(n: number): void;
  acknowledged(n: number): void;
  reconnect(): void;
}

export interface RelayPullerOptions extends RelayClientOptions {
  name: string;
  log: Logger;
  /** One result per event, in order; only the leading `ack`s are acknowledged. */
  handle(events: readonly WireEvent[]): Promise<Handled[]>;
  counters: PullerCounters;
}

/** First wait after a failure; doubled each failure in a row, up to MAX_BACKOFF_MS, with jitter. */
const BASE_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

/** Full jitter: pullers cut off together (an edge restart) do not all come back in the same instant. */
export function backoffDelay(failures: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.min(failures - 1, 16));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/**
 * One puller: long-polls its relay, hands each event to `handle` in order, and acknowledges the
 * ones handled, only after `handle` resolved (for the daemon: after the durable write).
 */
export class RelayPuller {
  private readonly abort = new AbortController();
  private readonly client: RelayClient;
  private done: Promise<void> | undefined;

  constructor(private readonly o: RelayPullerOptions) {
    this.client = new RelayClient(o);
  }

  start(): void {
    this.done ??= this.loop();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    await this.done;
    await this.client.close().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    const { log, name } = this.o;
    const signal = this.abort.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        const kept = await this.once(signal);
        if (failures > 0) log.info({ relay: name }, "relay connection restored");
        failures = 0;
        // An event that could not be taken now: wait before asking for it again.
        if (kept) await this.sleep(backoffDelay(1));
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.o.counters.reconnect();
        const delay = backoffDelay(failures);
        const fields = { relay: name, err: (err as Error).message, retryInMs: delay, failures };
        if (failures === 1) log.warn(fields, "relay pull failed; reconnecting");
        else log.debug(fields, "relay pull failed again; reconnecting");
        await this.sleep(delay);
      }
    }
  }

  /** One pull and its ack; true when an event was kept for later. */
  private async once(signal: AbortSignal): Promise<boolean> {
    const answer = await this.client.pull(signal);
    if (answer.events.length === 0) return false;
    this.o.counters.pulled(answer.events.length);
    const handled = await this.o.handle(answer.events);
    const kept = handled.indexOf("keep");
    const acks = answer.events.slice(0, kept === -1 ? handled.length : kept).map((e) => e.ack);
    if (acks.length > 0) {
      // Not aborted by stop: what is stored here should not wait for a lease to expire at the edge.
      await this.client.ack(answer.lease, acks, AbortSignal.timeout(this.o.waitMs + stallMarginMs(this.o.waitMs)));
      this.o.counters.acknowledged(acks.length);
    }
    return kept !== -1;
  }

  private sleep(ms: number): Promise<void> {
    const signal = this.abort.signal;
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
