import type { Logger } from "pino";
import type { StoreSettings } from "../config/compile.js";
import { StoreUnavailableError } from "../errors.js";

/** The store as a user knows it from the config: `redis at HOST:PORT` or `the SQLite store at PATH`. */
export function describeStore(settings: StoreSettings): string {
  if (settings.type === "sqlite") return `the SQLite store at ${settings.path}`;
  try {
    const url = new URL(settings.url);
    return `redis at ${url.hostname}:${url.port || "6379"}`;
  } catch {
    return "redis";
  }
}

/** What a Redis error reply starts with (OOM, READONLY, MISCONF …); undefined for a connection fault. */
function replyCode(err: Error): string | undefined {
  const cause = (err as Error & { cause?: unknown }).cause;
  if (cause instanceof Error && cause.name === "ReplyError") return /^[A-Z]+/.exec(cause.message)?.[0] ?? "error reply";
  return undefined;
}

/**
 * Says once, in Switchyard's words, that the store went away and that webhooks get 503 until it
 * is back, and once when it is back; every request and worker pass in between reports to it
 * instead of logging the client library's own text line after line. Faults the store has
 * already explained itself (see StoreUnavailableError.explained) are not logged again.
 */
export class StoreOutage {
  private since: number | undefined;
  /** Down, whether this class logged it or the store explained it itself. */
  private down = false;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    /** Told once when the store goes down and once when it is back (the alerts). */
    private readonly onChange?: (state: "unavailable" | "recovered", detail?: string) => void,
  ) {}

  /** An outage has been logged and its end has not. */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** The store is down, whether this class logged it or the store explained it itself. */
  get isDown(): boolean {
    return this.down;
  }

  failed(err: Error): void {
    if (!this.down) {
      this.down = true;
      this.onChange?.("unavailable", err.message);
    }
    // A SQLite file problem is logged by the store itself, with the path, both ways.
    if (err instanceof StoreUnavailableError && err.explained) return;
    if (this.since !== undefined) return;
    this.since = Date.now();
    const code = replyCode(err);
    // A connection fault is Redis's; anything else (a full disk, a failed fsync) is "unavailable".
    // A store that refuses on purpose (Redis without persistence) says why, not "unreachable".
    const condition = err instanceof StoreUnavailableError ? err.condition : undefined;
    const state =
      condition ?? (code !== undefined ? `refuses writes (${code})` : this.what.startsWith("redis") ? "unreachable" : "unavailable");
    const until = condition !== undefined ? "that is fixed" : "it is back";
    this.log.error({ store: this.what, detail: err.message }, `${this.what} ${state}; answering 503 to webhooks until ${until}`);
  }

  succeeded(): void {
    if (this.down) {
      this.down = false;
      this.onChange?.("recovered");
    }
    if (this.since === undefined) return;
    const downMs = Date.now() - this.since;
    this.since = undefined;
    this.log.info({ store: this.what, downMs }, `${this.what} is back after ${Math.round(downMs / 1000)} s; accepting webhooks again`);
  }
}
