import type { CompiledRoute } from "../config/compile.js";
import type { HandshakeAnswer, InboundRequest, ScrubbableRequest, VerifyFailure } from "../plugins/verifiers/verifier.js";
import { parseBody } from "./body.js";
import { type ReceivedEvent, receivedEvent } from "./event.js";
import { newEventId } from "./event-id.js";
import { isTruthy } from "./expression.js";

/**
 * The ingress decision, without side effects: verify the raw bytes → parse → handshake → route
 * filter → dedupe id. `receive` acts on it (store, metrics, answer); `switchyard test` prints it.
 * Throws ExpressionError when a route expression fails.
 */
export type Admission =
  | { kind: "rejected"; reason: VerifyFailure }
  | { kind: "invalid"; reason: "body_not_json" | "body_not_multipart" }
  | { kind: "handshake"; answer: HandshakeAnswer; deliveryId?: string }
  | { kind: "ignored"; event: ReceivedEvent; deliveryId?: string }
  | { kind: "accept"; event: ReceivedEvent; deliveryId?: string; dedupeKey?: string };

function stringifyId(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  return typeof value === "string" ? value : JSON.stringify(value);
}

export async function admit(route: CompiledRoute, req: InboundRequest): Promise<Admission> {
  const verdict = await route.verifier.verify(req);
  if (!verdict.ok)
    return verdict.reason === "body_not_json" ? { kind: "invalid", reason: verdict.reason } : { kind: "rejected", reason: verdict.reason };
  const { deliveryId } = verdict;

  const parsed = parseBody(req.rawBody, route.verifier.jsonBody ? "application/json" : (route.contentType ?? req.headers["content-type"]));
  if (!parsed.ok) return { kind: "invalid", reason: parsed.reason };

  const answer = route.verifier.handshake?.(req.headers, parsed.value);
  if (answer) return { kind: "handshake", answer, deliveryId };

  // The request as received is what is stored; only a credential comes out of it first.
  const request: ScrubbableRequest = { headers: { ...req.headers }, query: { ...req.query }, body: parsed.value, rawBody: req.rawBody };
  route.verifier.scrub?.(request);
  const event = receivedEvent(
    {
      id: newEventId(req.receivedAt),
      route: route.name,
      receivedAt: new Date(req.receivedAt).toISOString(),
      method: req.method,
      path: req.path,
      query: request.query,
      headers: request.headers,
      rawBody: request.rawBody,
    },
    // Parsed once here, for the verifier, the handshake and the filter: never again for this event.
    { value: request.body },
  );

  // The client's address is the ingress's knowledge, not part of the stored request: the
  // route-level expressions see it beside the event's fields; targets, later, do not.
  const seen = req.client === undefined ? event : { ...event, client: req.client };
  if (route.filter && !isTruthy(await route.filter.evaluate(seen))) return { kind: "ignored", event, deliveryId };
  let dedupeKey: string | undefined;
  if (route.dedupe) dedupeKey = route.dedupe.id ? stringifyId(await route.dedupe.id.evaluate(seen)) : deliveryId;
  return { kind: "accept", event, deliveryId, dedupeKey };
}
