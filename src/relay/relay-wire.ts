import type { ReceivedEvent, WebhookEvent } from "../pipeline/event.js";

/**
 * The relay's wire format (documented in the README's "Relay protocol" so another client can
 * speak it). A pull answers `{ lease, events: [WireEvent] }`; an ack posts `{ lease, acks }`.
 * The body travels as base64 of the bytes as received: signatures are over those bytes, and a
 * JSON re-serialization (what smee does) would break them.
 */
export interface WireEvent extends Omit<WebhookEvent, "body"> {
  /** What to acknowledge: the edge's delivery id. */
  ack: string;
  /** Base64 of the body bytes as received (`id` is the edge's event id: the home deduplicates by it). */
  body: string;
}

export interface PullAnswer {
  lease: string;
  events: WireEvent[];
}

export interface AckRequest {
  lease: string;
  acks: string[];
}

/** Ack ids and the lease are short tokens; anything longer is not ours. */
const MAX_ID_CHARS = 128;

export function toWire(ack: string, event: ReceivedEvent): WireEvent {
  return {
    ack,
    id: event.id,
    route: event.route,
    receivedAt: event.receivedAt,
    method: event.method,
    path: event.path,
    query: event.query,
    headers: event.headers,
    body: event.rawBody.toString("base64"),
  };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isShortText = (v: unknown): v is string => typeof v === "string" && v.length > 0 && v.length <= MAX_ID_CHARS;
const isStringMap = (v: unknown): v is Record<string, string> => isObject(v) && Object.values(v).every((x) => typeof x === "string");

/** An ack request, or why it is malformed (answered 400). At most `maxAcks` ids. */
export function parseAck(value: unknown, maxAcks: number): AckRequest | string {
  if (!isObject(value)) return "the body must be a JSON object { lease, acks }";
  if (!isShortText(value.lease)) return "lease must be the lease string a pull answered";
  const { acks } = value;
  if (!Array.isArray(acks) || !acks.every(isShortText)) return "acks must be an array of the ack strings a pull answered";
  if (acks.length > maxAcks) return `at most ${maxAcks} acks at once`;
  return { lease: value.lease, acks };
}

/** A pull answer as the puller reads it; throws with what is wrong (a proxy's error page, another server). */
export function parsePullAnswer(value: unknown): PullAnswer {
  if (!isObject(value) || !isShortText(value.lease) || !Array.isArray(value.events)) {
    throw new Error("the relay answered something that is not a pull answer { lease, events }");
  }
  for (const e of value.events) {
    const ok =
      isObject(e) &&
      isShortText(e.ack) &&
      isShortText(e.id) &&
      typeof e.route === "string" &&
      typeof e.receivedAt === "string" &&
      typeof e.method === "string" &&
      typeof e.path === "string" &&
      e.path.startsWith("/") &&
      isStringMap(e.query) &&
      isStringMap(e.headers) &&
      typeof e.body === "string";
    if (!ok) throw new Error("the relay answered an event without the fields of the relay protocol");
  }
  return value as unknown as PullAnswer;
}
