import type { Logger } from "pino";

/** The first reconnect waits this long, doubling up to RECONNECT_MAX_MS (with jitter). */
const RECONNECT_BASE_MS = 500;
/** A broker back after an outage is found within this long; deliveries retry meanwhile. */
const RECONNECT_MAX_MS = 15_000;
/**
 * A connection counts as good (the backoff starts over, a new loss is worth a warning) once it
 * has stayed up this long: a broker that accepts and then drops the connection (two clients
 * with one MQTT client id, an AMQP channel closed on every publish) is a failure, not a success.
 */
const STABLE_AFTER_MS = 30_000;

export interface KeeperSpec<C> {
  /** Says what is being connected to, for the log: `mqtt://broker.lan:1883` (no credentials). */
  what: string;
  log: Logger;
  /**
   * Opens one connection. `lost` must be called once if it ends later by itself (the broker
   * went away), so that the keeper reconnects.
   */
  connect(lost: (err?: Error) => void): Promise<C>;
  /** Ends a connection, letting what it has in flight finish where the client can. */
  disconnect(client: C): Promise<void>;
}

/**
 * One connection per target, shared by its deliveries, reconnected with backoff when lost. The
 * clients' own reconnect loops are switched off: this one is the same for every broker, and
 * a delivery never waits on a connection that is not there — it is retried by the worker, so a
 * broker that is down costs retries, never events.
 */
export class ConnectionKeeper<C> {
  private client: C | undefined;
  private dialing: Promise<C> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastError: string | undefined;
  /** The same loss again since the warning about it, logged at debug with this count. */
  private repeats = 0;
  /** The connection was dropped again for a reason already warned about: its reconnect is not news either. */
  private flapping = false;
  private stable: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly spec: KeeperSpec<C>) {}

  /** Starts connecting unless connected, connecting or closed. */
  open(): void {
    if (this.client || this.dialing || this.timer || this.closed) return;
    this.dial().catch(() => undefined);
  }

  connected(): boolean {
    return this.client !== undefined;
  }

  /**
   * The connection, waiting for one being opened; without one it starts one and throws, with
   * the reason the last attempt failed, so that the delivery is retried later.
   */
  async acquire(): Promise<C> {
    if (this.client) return this.client;
    if (this.closed) throw new Error("the target was closed (reload or shutdown)");
    if (this.dialing) return this.dialing;
    if (!this.timer) return this.dial();
    throw new Error(`not connected to ${this.spec.what}${this.lastError ? `: ${this.lastError}` : ""}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    clearTimeout(this.stable);
    this.timer = undefined;
    const client = this.client ?? (await this.dialing?.catch(() => undefined));
    this.client = undefined;
    if (client) await this.spec.disconnect(client);
  }

  private dial(): Promise<C> {
    let client: C | undefined;
    const attempt = this.spec
      .connect((err) => {
        if (this.client !== client) return;
        this.client = undefined;
        this.lost(err);
      })
      .then(
        async (c) => {
          this.dialing = undefined;
          if (this.closed) {
            await this.spec.disconnect(c).catch(() => undefined);
            throw new Error("the target was closed (reload or shutdown)");
          }
          this.client = c;
          client = c;
          // The backoff and the last warning stand until the connection proves it stays up.
          this.stable = setTimeout(() => {
            this.stable = undefined;
            this.failures = 0;
            this.lastError = undefined;
            this.repeats = 0;
            this.flapping = false;
          }, STABLE_AFTER_MS);
          this.stable.unref();
          if (!this.flapping) this.spec.log.info({ broker: this.spec.what }, "connected to the broker");
          else this.spec.log.debug({ broker: this.spec.what, repeats: this.repeats }, "connected to the broker again");
          return c;
        },
        (err: unknown) => {
          this.dialing = undefined;
          const message = err instanceof Error ? err.message : String(err);
          // One line per distinct reason: a broker down for an hour is not a line a second.
          this.flapping = false;
          this.note(message, "cannot connect to the broker; retrying");
          this.schedule();
          throw new Error(`cannot connect to ${this.spec.what}: ${message}`);
        },
      );
    this.dialing = attempt;
    return attempt;
  }

  private lost(err?: Error): void {
    clearTimeout(this.stable);
    this.stable = undefined;
    this.flapping = this.note(err?.message ?? "connection closed", "lost the connection to the broker; reconnecting");
    this.schedule();
  }

  /**
   * A warning for a new reason; the same reason again (a connection that keeps being dropped)
   * at debug, counted. Says whether it was a repeat.
   */
  private note(reason: string, msg: string): boolean {
    if (reason === this.lastError) {
      this.repeats += 1;
      this.spec.log.debug({ broker: this.spec.what, err: reason, repeats: this.repeats }, msg);
      return true;
    }
    this.lastError = reason;
    this.repeats = 0;
    this.spec.log.warn({ broker: this.spec.what, err: reason }, msg);
    return false;
  }

  private schedule(): void {
    if (this.closed || this.timer) return;
    const cap = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** this.failures);
    this.failures += 1;
    // Half fixed, half random: instances restarted together do not reconnect in step.
    const delay = cap / 2 + Math.random() * (cap / 2);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.open();
    }, delay);
    this.timer.unref();
  }
}
