import type { ReceivedEvent } from "../pipeline/event.js";
import type { Redactor } from "../pipeline/redact.js";
import type { AttemptRecord, DeliverySummary, EventDetail, EventSummary } from "../store/store.js";

/**
 * The API's shapes of stored events. One place maps the store's records to what the console and
 * scripts see, so a change in how events are stored changes this file only.
 */

export interface DeliveryView {
  id: string;
  target: string;
  state: string;
  attempts: number;
  lastError: string | null;
  /** ISO time the next try is due (pending, retrying). */
  dueAt?: string;
}

export interface EventView {
  id: string;
  route: string;
  receivedAt: string;
  deliveries: DeliveryView[];
}

export interface RequestView {
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names; values of credential headers are `[redacted]`. */
  headers: Record<string, string>;
  /** How `body` is to be read: parsed JSON, form fields (an object), or text as received. */
  bodyKind: "json" | "form" | "text" | "empty";
  body: unknown;
}

export interface EventDetailView extends EventView {
  request: RequestView;
  deliveries: (DeliveryView & { attemptLog: AttemptRecord[] })[];
}

/**
 * Header names whose values are credentials. The verifiers already drop the header that holds a
 * route's own secret before the event is stored; these cover what a sender adds besides.
 * Signature headers (HMACs of the body) are not secrets and stay readable.
 */
const CREDENTIAL_HEADER = /^(authorization|proxy-authorization|cookie)$|token|secret|passw|api[-_]?key|session|credential/i;
const MASK = "[redacted]";

export function deliveryView(d: DeliverySummary): DeliveryView {
  const view: DeliveryView = { id: d.id, target: d.target, state: d.state, attempts: d.attempts, lastError: d.lastError ?? null };
  if (d.dueAt !== undefined) view.dueAt = new Date(d.dueAt).toISOString();
  return view;
}

export function eventView(e: EventSummary): EventView {
  return { id: e.id, route: e.route, receivedAt: e.receivedAt, deliveries: e.deliveries.map(deliveryView) };
}

/** The config's secret values masked in a JSON value (a Meraki-style body carries one). */
function redactValue(value: unknown, redact: Redactor): unknown {
  if (typeof value === "string") return redact(value);
  const text = JSON.stringify(value);
  if (text === undefined) return value;
  const masked = redact(text);
  if (masked === text) return value;
  try {
    return JSON.parse(masked);
  } catch {
    return masked;
  }
}

function bodyKind(body: unknown, contentType: string | undefined): RequestView["bodyKind"] {
  if (body === undefined || body === null || body === "") return "empty";
  if (typeof body === "string") return "text";
  return /application\/x-www-form-urlencoded/i.test(contentType ?? "") ? "form" : "json";
}

/** The request as received, with credentials masked: what the event detail shows. */
export function requestView(detail: EventDetail, redact: Redactor): RequestView {
  const e = detail.event;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(e.headers ?? {})) {
    headers[name] = CREDENTIAL_HEADER.test(name) ? MASK : redact(String(value));
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(e.query ?? {})) {
    query[name] = CREDENTIAL_HEADER.test(name) ? MASK : redact(String(value));
  }
  return {
    method: e.method,
    path: e.path,
    query,
    headers,
    bodyKind: bodyKind(e.body, e.headers?.["content-type"]),
    body: redactValue(e.body, redact),
  };
}

export function eventDetailView(detail: EventDetail, redact: Redactor): EventDetailView {
  const e = detail.event;
  return {
    id: e.id,
    route: e.route,
    receivedAt: e.receivedAt,
    request: requestView(detail, redact),
    deliveries: detail.deliveries.map((d) => ({ ...deliveryView(d), attemptLog: d.attemptLog })),
  };
}

/** Headers a replayed request must not copy: the connection's own, and what curl sets itself. */
const NOT_REPLAYED = new Set([
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "expect",
  "accept-encoding",
  "te",
  "upgrade",
]);

/** The request's body bytes, exactly as stored, and its headers, as a signed curl line needs them. */
export function replayableRequest(event: ReceivedEvent): { body: Buffer; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) if (!NOT_REPLAYED.has(name)) headers[name] = value;
  return { body: event.rawBody, headers };
}
