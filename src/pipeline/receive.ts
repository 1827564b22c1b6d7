import type { Logger } from "pino";
import type { CompiledRoute } from "../config/compile.js";
import { ExpressionError, StoreUnavailableError } from "../errors.js";
import type { InboundRequest } from "../plugins/verifiers/verifier.js";
import type { Store } from "../store/store.js";
import type { Metrics } from "../telemetry/metrics.js";
import { admit } from "./admit.js";
import type { StoreRefusals } from "./store-refusals.js";

/**
 * The ingress steps: admit (verify → parse → handshake → filter → dedupe id), then the durable
 * enqueue, then the answer. Nothing but a stored event gets a 2xx that promises delivery.
 */

export interface Answer {
  status: number;
  body?: unknown;
}

export interface ReceiveDeps {
  store: Store;
  metrics: Metrics;
  log: Logger;
  /** Called after an event is stored, so the worker picks it up without waiting for a poll. */
  onAccepted?: () => void;
  /** Keeps a store outage to a few log lines instead of one per refused webhook. */
  refusals?: StoreRefusals;
}

export async function receive(route: CompiledRoute, req: InboundRequest, deps: ReceiveDeps): Promise<Answer> {
  const { metrics, log } = deps;
  const r = route.name;
  const count = (outcome: "accepted" | "rejected" | "duplicate" | "ignored" | "invalid") =>
    metrics.eventsReceived.inc({ route: r, outcome });

  let admission: Awaited<ReturnType<typeof admit>>;
  try {
    admission = await admit(route, req);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    // A config fault, not the sender's: a 5xx makes the provider retry once the config is fixed.
    count("invalid");
    log.error({ route: r, err: err.message }, "route expression failed; event not accepted");
    return { status: 500, body: { error: "route expression failed" } };
  }

  switch (admission.kind) {
    case "rejected":
      count("rejected");
      // The reason stays in the log: telling the client which check failed helps only an attacker.
      log.warn({ route: r, reason: admission.reason }, "verification failed");
      return { status: 401, body: { error: "verification failed" } };
    case "invalid":
      count("invalid");
      return { status: 400, body: { error: "body is not valid JSON" } };
    case "handshake":
      count("ignored");
      log.info({ route: r }, "provider handshake answered");
      return admission.answer;
    case "ignored":
      count("ignored");
      log.debug({ route: r, eventId: admission.event.id }, "route filter said no");
      return { status: 200, body: { status: "ignored" } };
    case "accept":
      break;
  }

  const { event, dedupeKey } = admission;
  try {
    const result = await deps.store.enqueue({
      event,
      targets: route.targetNames,
      dedupe: dedupeKey && route.dedupe ? { key: dedupeKey, expiresAt: req.receivedAt + route.dedupe.ttlMs } : undefined,
    });
    if (result.status === "duplicate") {
      count("duplicate");
      log.info({ route: r, eventId: result.id }, "duplicate delivery answered");
      return { status: 200, body: { status: "duplicate", id: result.id } };
    }
  } catch (err) {
    if (!(err instanceof StoreUnavailableError)) throw err;
    const refused = deps.refusals ? deps.refusals.refuse(err.message, Date.now()) : 1;
    if (refused === undefined) log.debug({ route: r, err: err.message }, "store unavailable; event not accepted");
    else log.error({ route: r, err: err.message, refused }, "store unavailable; webhooks are refused (503) until it is back");
    return { status: 503, body: { error: "store unavailable" } };
  }
  const refused = deps.refusals?.accepted() ?? 0;
  if (refused > 0) log.info({ refused }, "store available again; webhooks are accepted");
  count("accepted");
  deps.onAccepted?.();
  // Debug, not info: a line per request costs the hot path; the delivery lines carry the id.
  log.debug({ route: r, eventId: event.id }, "event accepted");
  return { status: 202, body: { status: "accepted", id: event.id } };
}
