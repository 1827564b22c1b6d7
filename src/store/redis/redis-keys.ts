/**
 * Where the Redis store keeps what. `P` is `store.prefix` (default `switchyard`); every key starts
 * with it, so several deployments can share one Redis.
 *
 * BullMQ's own keys, one queue per route+target (queue name `route.target`):
 *   P:route.target:wait|active|delayed|completed|failed|meta|events|marker|id   BullMQ's lists and sets
 *   P:route.target:d17                                                          the job: BullMQ's fields + ours (sy_*)
 *   P:route.target:d17:lock                                                     BullMQ's lock; value = lease owner
 * Ours, where BullMQ has no place for the data (queue names always contain a dot, so `sy` cannot be one):
 *   P:sy:event:<eventId>        hash: route, at (receivedAt), ms, the request as received: method, path,
 *                               query + headers (JSON), body (the raw bytes); m (zset member), ds (deliveries).
 *                               Events written before the request was kept have `doc` (the event JSON)
 *                               instead of method…body: they are read as they are (legacy-event.ts)
 *   P:sy:events                 zset of all events by received ms; P:sy:events:<route> the same per route
 *   P:sy:dedupe:<route>:<key>   string: the event id that used the key; expires natively (PXAT)
 *   P:sy:where                  hash: delivery id → queue name (settle, replay and the CLI know only the id)
 *   P:sy:targets                hash: queue name → [route, target] (every queue that ever had a delivery)
 *   P:sy:leases                 zset: delivery id → lease end (the caller's clock), for reclaimExpired
 *   P:sy:retrying               set: delivery ids in state retrying (pending vs retrying for depth())
 *   P:sy:seq                    counter for delivery ids and event order
 *   P:sy:attempts:<deliveryId>  list: the delivery's last 20 attempts (AttemptRecord JSON), written by settle, deleted by prune
 *   P:sy:counts:<minuteMs>      hash: JSON [route, target, name] → count, the console's per-minute counters; expires after 48 h
 *
 * Our fields on a BullMQ job hash: sy_ev (event id), sy_ms (event received ms, for coalesce),
 * sy_st (DeliveryState), sy_due, sy_err, sy_upd (last change), sy_own + sy_lease (the lease).
 * Attempts are BullMQ's own `ats` (attempts started), which its moveToActive counts the same way.
 */

/** BullMQ refuses `:` in queue names and purely numeric job ids; these encodings avoid both. */
const UNSAFE = /[^A-Za-z0-9_-]/g;

function encodePart(part: string): string {
  return part.replace(UNSAFE, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** The BullMQ queue of one route's target. Names are [a-z0-9_-] in configs, so this is `route.target`. */
export function queueName(route: string, target: string): string {
  return `${encodePart(route)}.${encodePart(target)}`;
}

/** Delivery ids are BullMQ job ids: `d` + a counter (BullMQ rejects integer ids). */
export function deliveryId(n: number): string {
  return `d${n}`;
}

export function isDeliveryId(id: string): boolean {
  return /^d[1-9]\d{0,15}$/.test(id);
}

/** Zset member of an event: zero-padded sequence first, so events received in the same ms list in write order. */
export function eventMember(seq: number, eventId: string): string {
  return `${String(seq).padStart(16, "0")}:${eventId}`;
}

export class RedisKeys {
  /** `P:` — BullMQ's prefix plus its separator; a queue's keys are `P:<queue>:…`. */
  readonly base: string;
  /** `P:sy:` — our own keys. */
  readonly sy: string;

  constructor(readonly prefix: string) {
    this.base = `${prefix}:`;
    this.sy = `${prefix}:sy:`;
  }

  event(eventId: string): string {
    return `${this.sy}event:${eventId}`;
  }
  events(route?: string): string {
    return route === undefined ? `${this.sy}events` : `${this.sy}events:${route}`;
  }
  dedupe(route: string, key: string): string {
    return `${this.sy}dedupe:${route}:${key}`;
  }
  get seq(): string {
    return `${this.sy}seq`;
  }
  get ping(): string {
    return `${this.sy}ping`;
  }
  /** Hash: JSON [route, target] → JSON { since, error } of each paused target. */
  get paused(): string {
    return `${this.sy}paused`;
  }
}
