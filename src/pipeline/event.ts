import { parseBody } from "./body.js";

/**
 * The event document: what JSONata filters and transforms see and what targets receive (as
 * specified in the contract's "The event" section).
 */
export interface WebhookEvent {
  id: string;
  route: string;
  /** ISO 8601 time the request was received. */
  receivedAt: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased header names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON, form fields as an object, or the raw text. */
  body: unknown;
}

/** The request as it arrived, credentials removed: what the store keeps. */
export interface ReceivedRequest {
  id: string;
  route: string;
  receivedAt: string;
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  /** The body bytes exactly as received (rewritten only by a scheme that removes a credential from it). */
  rawBody: Buffer;
}

/**
 * A stored event: the request as received, seen as the event document. `body` is parsed from
 * `rawBody` the first time something reads it (a filter, a transform, a target that sends it)
 * and kept, so a delivery that forwards the raw bytes never parses them. `rawBody` is not
 * enumerable: JSONata's `$keys`, `JSON.stringify` (an exec target's stdin, `events show --json`)
 * see exactly the documented event.
 */
export type ReceivedEvent = WebhookEvent & { readonly rawBody: Buffer };

/**
 * The body as the ingress derives it (src/pipeline/body.ts). A JSON body that does not parse
 * never got a 202, so the text fallback is only for bytes written by other means.
 */
export function deriveBody(rawBody: Buffer, contentType: string | undefined): unknown {
  const parsed = parseBody(rawBody, contentType);
  return parsed.ok ? parsed.value : rawBody.toString("utf8");
}

/**
 * The event view of a received request. `parsed` is the body when the caller already has it
 * (the ingress parsed it to verify, handshake or filter), so it is never parsed twice.
 */
export function receivedEvent(req: ReceivedRequest, parsed?: { value: unknown }): ReceivedEvent {
  const { rawBody, ...fields } = req;
  let body = parsed;
  const event = { ...fields } as ReceivedEvent;
  Object.defineProperty(event, "body", {
    enumerable: true,
    configurable: true,
    get: () => {
      if (body === undefined) body = { value: deriveBody(rawBody, fields.headers["content-type"]) };
      return body.value;
    },
    set: (value: unknown) => {
      body = { value };
    },
  });
  Object.defineProperty(event, "rawBody", { enumerable: false, value: rawBody });
  return event;
}

/**
 * Reads a stored event's body as JSON whatever its Content-Type, for a scheme that says its body
 * always is (AWS SNS sends JSON as text/plain): the ingress parsed it so, and a delivery read
 * back from the store must see the same body.
 */
export function readBodyAsJson(event: ReceivedEvent): void {
  const parsed = parseBody(event.rawBody, "application/json");
  if (parsed.ok) event.body = parsed.value;
}

/** Reads a stored event's body as the route's `content_type` says, whatever its own header says. */
export function readBodyAs(event: ReceivedEvent, contentType: string): void {
  const parsed = parseBody(event.rawBody, contentType);
  if (parsed.ok) event.body = parsed.value;
}
