import { type ReceivedEvent, receivedEvent, type WebhookEvent } from "../../pipeline/event.js";
import { fromLegacyDoc } from "../legacy-event.js";
import {
  type AttemptOutcome,
  type AttemptRecord,
  type DeadLetter,
  type DeliveryDetail,
  type DeliverySummary,
  type EventDetail,
  type EventSummary,
  isDeliveryState,
  type PagedEvent,
  type ReplayResult,
  WAITING_STATES,
} from "../store.js";

/**
 * Script replies as the Store's types. Replies arrive as nested arrays of strings, integers and
 * nulls; the readers at the end of this file check each part, so a reply of an unexpected shape
 * is a clear error rather than a wrong answer. (The listing scripts' shapes: redis-lua-queue.ts.)
 */

export function readDeadLetters(reply: unknown): DeadLetter[] {
  return list(reply, "deadLetters").map((row) => {
    const [id, eventId, route, target, attempts, lastError, receivedAt, failedAt] = list(row, "deadLetters");
    return {
      id: text(id, "deadLetters"),
      eventId: text(eventId, "deadLetters"),
      route: text(route, "deadLetters"),
      target: text(target, "deadLetters"),
      attempts: num(attempts, "deadLetters"),
      lastError: text(lastError, "deadLetters"),
      receivedAt: text(receivedAt, "deadLetters"),
      failedAt: num(failedAt, "deadLetters"),
    };
  });
}

function readDelivery(row: unknown): DeliverySummary | undefined {
  const [id, target, state, attempts, lastError, dueAt] = list(row, "events");
  const s = text(state, "events");
  // A job removed behind our back (BullMQ tooling) has no state; it is not listed.
  if (!isDeliveryState(s)) return undefined;
  const summary: DeliverySummary = { id: text(id, "events"), target: text(target, "events"), state: s, attempts: num(attempts, "events") };
  const error = optionalText(lastError);
  if (error !== undefined) summary.lastError = error;
  if (WAITING_STATES.includes(s)) summary.dueAt = num(dueAt, "events");
  return summary;
}

export function readEvents(reply: unknown): EventSummary[] {
  return list(reply, "events").map((row) => {
    const [id, route, receivedAt, deliveries] = list(row, "events");
    return {
      id: text(id, "events"),
      route: text(route, "events"),
      receivedAt: text(receivedAt, "events"),
      deliveries: list(deliveries, "events")
        .map(readDelivery)
        .filter((d) => d !== undefined),
    };
  });
}

/**
 * An event hash's request fields (REQUEST_FIELDS, from a script run with Buffer replies) as the
 * event; undefined when the hash is gone. A hash written before the request was kept as received
 * has only `doc`, read as such (legacy-event.ts): Redis data of either age is served as it is.
 */
export function readRequest(eventId: string, fields: unknown, what: string): ReceivedEvent | undefined {
  if (fields === null) return undefined;
  const [route, at, method, path, query, headers, body, doc] = list(fields, what);
  if (route === null || route === undefined) return undefined;
  if (!Buffer.isBuffer(body)) {
    // Written by enqueue from a WebhookEvent, before the request was kept as received.
    if (doc !== null && doc !== undefined) return fromLegacyDoc(JSON.parse(text(doc, what)) as WebhookEvent);
    throw unexpected(what, fields);
  }
  // query and headers were written by enqueue from the event's own objects.
  return receivedEvent({
    id: eventId,
    route: text(route, what),
    receivedAt: text(at, what),
    method: text(method, what),
    path: text(path, what),
    query: JSON.parse(text(query, what)) as Record<string, string>,
    headers: JSON.parse(text(headers, what)) as Record<string, string>,
    rawBody: body,
  });
}

const OUTCOMES: readonly string[] = ["delivered", "retry", "dead", "skipped"];

/** An attempt as SETTLE stored it (JSON of an AttemptRecord); a malformed one is a clear error. */
function readAttempt(value: unknown): AttemptRecord {
  const a: unknown = JSON.parse(text(value, "event"));
  const r = (a ?? {}) as Record<string, unknown>;
  const orNull = <T>(v: unknown, is: (v: unknown) => v is T): T | null => (is(v) ? v : null);
  const isNum = (v: unknown): v is number => typeof v === "number";
  const isText = (v: unknown): v is string => typeof v === "string";
  if (!isNum(r.attempt) || !isText(r.startedAt) || !isNum(r.durationMs) || !OUTCOMES.includes(String(r.outcome))) {
    throw unexpected("event", value);
  }
  return {
    attempt: r.attempt,
    startedAt: r.startedAt,
    durationMs: r.durationMs,
    outcome: r.outcome as AttemptOutcome,
    status: orNull(r.status, isNum),
    exitCode: orNull(r.exitCode, isNum),
    response: orNull(r.response, isText),
    error: orNull(r.error, isText),
  };
}

export function readEvent(eventId: string, reply: unknown): EventDetail | undefined {
  if (reply === null) return undefined;
  const [fields, deliveries, logs] = list(reply, "event");
  const event = readRequest(eventId, fields, "event");
  if (!event) return undefined;
  const attemptLogs = list(logs, "event");
  const out: DeliveryDetail[] = [];
  list(deliveries, "event").forEach((row, i) => {
    const d = readDelivery(row);
    if (d) out.push({ ...d, attemptLog: list(attemptLogs[i] ?? [], "event").map(readAttempt) });
  });
  return { event, deliveries: out };
}

export function readEventPage(reply: unknown): PagedEvent[] {
  return list(reply, "eventPage").map((row) => {
    const [id, route, receivedAt, ms, member, deliveries, doc] = list(row, "eventPage");
    const page: PagedEvent = {
      id: text(id, "eventPage"),
      route: text(route, "eventPage"),
      receivedAt: text(receivedAt, "eventPage"),
      receivedAtMs: num(ms, "eventPage"),
      cursor: `${text(ms, "eventPage")}.${text(member, "eventPage")}`,
      deliveries: list(deliveries, "eventPage")
        .map(readDelivery)
        .filter((d) => d !== undefined),
    };
    const event = doc === null || doc === false ? undefined : readRequest(page.id, doc, "eventPage");
    if (event !== undefined) page.event = event;
    return page;
  });
}

export function readReplay(reply: unknown): ReplayResult {
  const [replayed, notFound] = list(reply, "replay");
  return { replayed: num(replayed, "replay"), notFound: list(notFound, "replay").map((id) => text(id, "replay")) };
}

function unexpected(what: string, value: unknown): Error {
  return new Error(`redis store: ${what}: unexpected reply ${JSON.stringify(value)?.slice(0, 200)}`);
}

export function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw unexpected(what, value);
  return value;
}

/** A bulk string as text; scripts run with Buffer replies give Buffers. */
export function text(value: unknown, what: string): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number") return String(value);
  throw unexpected(what, value);
}

export function num(value: unknown, what: string): number {
  const n =
    typeof value === "number"
      ? value
      : typeof value === "string"
        ? Number(value)
        : Buffer.isBuffer(value)
          ? Number(value.toString("latin1"))
          : Number.NaN;
  if (!Number.isFinite(n)) throw unexpected(what, value);
  return n;
}

export function optionalText(value: unknown): string | undefined {
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return typeof value === "string" ? value : undefined;
}

/** The `[route, target]` JSON our scripts keep per queue. */
export function routeTarget(value: unknown, what: string): { route: string; target: string } {
  const parsed: unknown = JSON.parse(text(value, what));
  const [route, target] = list(parsed, what);
  return { route: text(route, what), target: text(target, what) };
}
