import type { ReceivedEvent } from "../pipeline/event.js";

/**
 * Where accepted events live until every target has them. A 202 is sent only after
 * `enqueue` resolves, so an implementation must resolve only once the event and its
 * deliveries would survive a kill -9 of the process (SQLite: committed to the WAL with
 * fsync; Redis: acknowledged by the server).
 *
 * Delivery states:
 *   pending    waiting for its first try, or in flight (leased)
 *   retrying   a try failed; waiting until `due_at` for the next one
 *   delivered  the target took it                    (terminal)
 *   skipped    the target's filter said no           (terminal)
 *   coalesced  superseded by a newer event (coalesce) (terminal)
 *   dead       out of attempts or failed for good; kept with its last error until replayed
 */
export const DELIVERY_STATES = ["pending", "retrying", "delivered", "skipped", "coalesced", "dead"] as const;
export type DeliveryState = (typeof DELIVERY_STATES)[number];
/** Waiting for a try: what the worker claims and what has a due time. */
export const WAITING_STATES: readonly DeliveryState[] = ["pending", "retrying"];
/** Finished for good; an event whose deliveries all are may be pruned (dead letters wait for a replay). */
export const FINISHED_STATES: readonly DeliveryState[] = ["delivered", "skipped", "coalesced"];

export function isDeliveryState(value: string): value is DeliveryState {
  return (DELIVERY_STATES as readonly string[]).includes(value);
}

/** How many events `events()` lists when no limit is given. */
export const DEFAULT_EVENTS_LIMIT = 20;

export interface EnqueueRequest {
  /** The request as received; its raw body bytes are what is stored, never a re-serialized body. */
  event: ReceivedEvent;
  /** The route's target names: one delivery row each, all written with the event. */
  targets: readonly string[];
  /** When set, the event is a duplicate if this key was seen for the route and has not expired. */
  dedupe?: { key: string; expiresAt: number };
}

/**
 * An enqueue request with what the store writes besides the raw body: the query and headers as
 * JSON text. The body is stored as its bytes, so nothing the size of the body is serialized here.
 */
export interface Queued {
  req: EnqueueRequest;
  query: string;
  headers: string;
  receivedAtMs: number;
}

export function toQueued(req: EnqueueRequest): Queued {
  const { event } = req;
  const parsed = Date.parse(event.receivedAt);
  return {
    req,
    query: JSON.stringify(event.query),
    headers: JSON.stringify(event.headers),
    receivedAtMs: Number.isFinite(parsed) ? parsed : Date.now(),
  };
}

/** What a queued request weighs in a batch: its body and headers. */
export function queuedBytes(item: Queued): number {
  return item.req.event.rawBody.length + item.headers.length + item.query.length;
}

export type EnqueueResult = { status: "accepted"; id: string } | { status: "duplicate"; id: string };

export interface TargetKey {
  route: string;
  target: string;
}

/** A target that has deliveries waiting (pending or retrying), and when the earliest is due. */
export interface TargetBacklog extends TargetKey {
  nextDueAt: number;
}

export interface ClaimOptions extends TargetKey {
  /** At most this many deliveries (the target's free concurrency slots). */
  limit: number;
  /** The lease: a claim not settled by `now + leaseMs` is handed out again (crashed worker). */
  leaseMs: number;
  now: number;
  /** Who holds the lease: settle and release only act on their own leases. */
  owner: string;
  /**
   * Coalesce (exec targets): claim only the newest due delivery of the target and settle every
   * older due one as `coalesced`, in the same transaction.
   */
  coalesce: boolean;
  /**
   * The target's concurrency across every process sharing the store. Optional: a store shared by
   * several instances (Redis) caps the target's leases at this, whoever holds them; without it,
   * and in the SQLite store, only `limit` (the caller's own free slots) applies.
   */
  concurrency?: number;
  /**
   * The events the caller still holds in memory, by id (the worker keeps those it was handed at
   * accept time): a store may take the event from here instead of reading and parsing its
   * document again. The claim itself (the lease) is written to the store all the same.
   */
  known?: (eventId: string) => ReceivedEvent | undefined;
}

export interface ClaimedDelivery extends TargetKey {
  id: string;
  eventId: string;
  /** 1 for the first try. */
  attempt: number;
  event: ReceivedEvent;
  /** How many older deliveries this claim superseded (coalesce); 0 otherwise. */
  coalesced: number;
}

export type Settlement =
  | { kind: "delivered"; detail?: string }
  | { kind: "skipped" }
  | { kind: "retry"; at: number; error: string }
  | { kind: "dead"; error: string };

/** How many attempts a delivery's log keeps: the newest ones (a retry storm cannot grow a row without end). */
export const ATTEMPT_LOG_LIMIT = 20;
/** How much of a target's answer (HTTP body, command output) an attempt keeps, in UTF-8 bytes. */
export const RESPONSE_EXCERPT_BYTES = 4096;

export type AttemptOutcome = "delivered" | "retry" | "dead" | "skipped";

/**
 * One try of a delivery, as the console shows it. Written with the settlement that ends the
 * try (same transaction or script), so the log and the delivery's state never disagree.
 */
export interface AttemptRecord {
  /** 1 for the first try; counts again from 1 after a replay. */
  attempt: number;
  /** ISO time the try started. */
  startedAt: string;
  durationMs: number;
  outcome: AttemptOutcome;
  /** The HTTP status the target answered (http targets). */
  status: number | null;
  /** The command's exit code (exec targets). */
  exitCode: number | null;
  /** The first RESPONSE_EXCERPT_BYTES of the answer body or command output, secrets masked. */
  response: string | null;
  error: string | null;
}

/** Cuts a text to at most `bytes` UTF-8 bytes without splitting a character. */
export function excerpt(text: string, bytes = RESPONSE_EXCERPT_BYTES): string {
  if (Buffer.byteLength(text, "utf8") <= bytes) return text;
  const cut = Buffer.from(text, "utf8").subarray(0, bytes).toString("utf8");
  // A character split by the cut decodes as U+FFFD at the end: drop it.
  return cut.endsWith("\uFFFD") ? cut.slice(0, -1) : cut;
}

export interface DeadLetter extends TargetKey {
  id: string;
  eventId: string;
  attempts: number;
  lastError: string;
  receivedAt: string;
  /** Epoch ms of the last attempt. */
  failedAt: number;
}

export interface DeliverySummary {
  id: string;
  target: string;
  state: DeliveryState;
  attempts: number;
  lastError?: string;
  /** Epoch ms the next try is due (pending/retrying). */
  dueAt?: number;
}

export interface EventSummary {
  id: string;
  route: string;
  receivedAt: string;
  deliveries: DeliverySummary[];
}

export interface DeliveryDetail extends DeliverySummary {
  /** Its tries, oldest first: the last ATTEMPT_LOG_LIMIT. */
  attemptLog: AttemptRecord[];
}

/** One stored event as `switchyard events show` prints it: the request as received, and each delivery. */
export interface EventDetail {
  event: ReceivedEvent;
  deliveries: DeliveryDetail[];
}

/**
 * Where a page of events continues: the received time and the store's own tie-breaker of the
 * last event looked at. Opaque to callers (SQLite: `ms.rowid`, Redis: `ms.member`).
 */
export type EventCursor = string;

export interface EventPageQuery {
  route?: string;
  /** Only events received at or after this epoch ms. */
  since?: number;
  /** Only events received before this epoch ms. */
  until?: number;
  /** Continue after this cursor (older events). */
  before?: EventCursor;
  /** How many events to read at most. */
  limit: number;
  /** Include each event's document (for a search over it). */
  withEvent?: boolean;
}

export interface PagedEvent extends EventSummary {
  receivedAtMs: number;
  cursor: EventCursor;
  event?: ReceivedEvent;
}

/** A target's deliveries still in the store, by state. */
export interface TargetDepth extends TargetKey {
  pending: number;
  retrying: number;
  dead: number;
}

/** One per-minute counter: `name` is an ingress outcome, a delivery outcome or a latency bucket. */
export interface CountRow {
  /** Epoch ms of the minute's start. */
  minute: number;
  route: string;
  /** "" for the route's own counters. */
  target: string;
  name: string;
  n: number;
}

/** The counters summed over a window: one row per (bucket, route, target, name). */
export interface CountQuery {
  since: number;
  /** Bucket width in minutes (1 = per minute); every row's `minute` is its bucket's start. */
  bucketMinutes: number;
}

/** How long per-minute counters are kept. */
export const COUNTS_KEEP_MS = 48 * 60 * 60_000;

export interface ReplayResult {
  /** Deliveries queued again. */
  replayed: number;
  /** The ids given that name neither a dead delivery nor an event with one, in the order given. */
  notFound: string[];
}

/**
 * A target paused after failing for a stretch (`pause_after`): its deliveries wait, a probe is
 * tried now and then, and the first success (or `switchyard target resume`) ends it.
 */
export interface PausedTarget extends TargetKey {
  /** Epoch ms it was paused. */
  since: number;
  /** The last error before it was paused. */
  error: string;
}

export interface QueueDepth {
  pending: number;
  retrying: number;
  dead: number;
}

export interface Store {
  /** Durable before it resolves; groups concurrent calls into one commit. Rejects with StoreUnavailableError. */
  enqueue(req: EnqueueRequest): Promise<EnqueueResult>;
  /** Targets with deliveries in state pending/retrying that are not leased, with the earliest due time. */
  backlog(): Promise<TargetBacklog[]>;
  /**
   * Of these targets, those with pending or retrying deliveries leased now, with the earliest
   * due time among those: a relay's lag counts an event handed out and never acknowledged.
   */
  leasedBacklog(keys: readonly TargetKey[]): Promise<TargetBacklog[]>;
  claim(opts: ClaimOptions): Promise<ClaimedDelivery[]>;
  /**
   * Settles a claimed delivery; a no-op if `owner` no longer holds its lease. `record` joins the
   * delivery's attempt log in the same step (the newest ATTEMPT_LOG_LIMIT are kept).
   */
  settle(deliveryId: string, owner: string, settlement: Settlement, now: number, record?: AttemptRecord): Promise<void>;
  /** Gives back every lease `owner` holds, due now (graceful shutdown). */
  release(owner: string): Promise<number>;
  /**
   * Who holds leases now. Optional: lets a restarted daemon give back at once the leases of its
   * own previous, crashed incarnation instead of waiting for them to expire.
   */
  leaseOwners?(): Promise<string[]>;
  /** Hands expired leases back out (their holder crashed). Its own query, not part of claim. */
  reclaimExpired(now: number): Promise<number>;
  deadLetters(opts?: { route?: string; limit?: number }): Promise<DeadLetter[]>;
  /**
   * Dead deliveries back to pending with fresh attempts, in one transaction. Each id is a delivery
   * id (the delivery, if dead) or an event id (every dead delivery of that event): logs and
   * `switchyard events` show event ids, `dlq list` both.
   */
  replay(ids: readonly string[] | "all", now: number): Promise<ReplayResult>;
  events(opts?: { route?: string; limit?: number }): Promise<EventSummary[]>;
  /** The stored event with every delivery's state, from one snapshot; undefined for an unknown id (or one pruned). */
  event(id: string): Promise<EventDetail | undefined>;
  /**
   * A page of events, newest first, by received time then write order: the console's listing.
   * Reads by index from `before` on, so a page costs the same on a store of any size.
   */
  eventPage(query: EventPageQuery): Promise<PagedEvent[]>;
  depth(): Promise<QueueDepth>;
  /** Waiting and dead deliveries per target. */
  targetDepths(): Promise<TargetDepth[]>;
  /**
   * Puts deliveries of one event back in the queue, due now, with fresh attempts: every target,
   * or those named. Deliveries waiting or in flight are left as they are (they are already on
   * their way). Returns how many were queued and the target names that matched no delivery.
   */
  redeliver(eventId: string, targets: readonly string[] | "all", now: number): Promise<{ replayed: number; notFound: string[] }>;
  /** Adds per-minute counters (summing with what is there: several daemons may share a store). */
  addCounts(rows: readonly CountRow[]): Promise<void>;
  /** The counters since `since`, summed per bucket. */
  counts(query: CountQuery): Promise<CountRow[]>;
  /**
   * Deletes events whose deliveries are all terminal and not dead, received before `before`, with
   * their attempt logs; expired dedupe keys; and counters older than COUNTS_KEEP_MS.
   */
  prune(before: number, now: number): Promise<number>;
  /** The paused targets, shared by every instance on the store and kept across restarts. */
  pausedTargets(): Promise<PausedTarget[]>;
  /** Pauses a target; one already paused keeps its `since` and error. */
  pauseTarget(paused: PausedTarget): Promise<void>;
  /** Ends a target's pause; false when it was not paused. */
  resumeTarget(key: TargetKey): Promise<boolean>;
  /** Resolves when the store can take writes; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;
  /** The size of the store's write-ahead log in bytes, for stores that have one (SQLite). */
  walBytes?(): number | undefined;
  close(): Promise<void>;
}
