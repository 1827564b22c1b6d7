import type { Logger } from "pino";
import type { CompiledRoute } from "../config/compile.js";
import type { CompiledRespond, TargetRespond } from "../config/compile-respond.js";
import type { LiveFeed } from "../console/live-feed.js";
import type { Tally } from "../console/tally.js";
import { ExpressionError, StoreUnavailableError } from "../errors.js";
import type { InboundRequest } from "../plugins/verifiers/verifier.js";
import type { Store } from "../store/store.js";
import type { AnswerKind, Metrics } from "../telemetry/metrics.js";
import type { RefusalLog } from "../telemetry/refusal-log.js";
import type { StoreOutage } from "../telemetry/store-outage.js";
import { admit } from "./admit.js";
import type { AnswerWaits, AttemptAnswer } from "./answer-waits.js";
import { formBodyIsJson } from "./body.js";
import type { ReceivedEvent } from "./event.js";
import { type RenderedAnswer, renderAnswer, targetAnswer } from "./respond.js";

/**
 * The ingress steps: admit (verify → parse → handshake → filter → dedupe id), then the durable
 * enqueue, then the answer. Nothing but a stored event gets a 2xx that promises delivery.
 */

export interface Answer {
  status: number;
  /** Set in order (a route's `respond`); otherwise koa types the body. */
  headers?: Record<string, string>;
  body?: unknown;
  /** Why a request was refused (401, 400), for the console's refused-requests list. */
  refusal?: string;
}

export interface ReceiveDeps {
  store: Store;
  metrics: Metrics;
  log: Logger;
  /**
   * Called after an event is stored, so the worker picks it up without waiting for a poll, and
   * without reading back what it is handed here (`targets`: how many deliveries it has).
   */
  onAccepted?: (event: ReceivedEvent, targets: number) => void;
  /** Refusals logged per route and reason, a flood summarised; without it, each is logged. */
  refusals?: RefusalLog;
  /** Told of every enqueue's store fault and success: an outage is logged once. */
  outage?: StoreOutage;
  /** The console's per-minute counters. */
  tally?: Tally;
  /** The console's live tail. */
  feed?: LiveFeed;
  /** Where a request waits for a target's first attempt (`respond.target`); without it, `fallback` is answered. */
  answers?: AnswerWaits;
}

/**
 * How long the home remembers a relayed event's edge id: the edge hands an event out again only
 * when its ack was lost, which a home that was down for days may send that late.
 */
export const RELAY_DEDUPE_MS = 7 * 24 * 60 * 60_000;

/**
 * The dedupe key an event is stored under. A relayed event (pulled from an edge) is always
 * deduplicated: by the route's own key when it has one, kept at least RELAY_DEDUPE_MS, or else
 * by the edge's event id.
 */
function dedupeFor(route: CompiledRoute, key: string | undefined, receivedAt: number, relayedId?: string) {
  const own = key && route.dedupe ? { key, expiresAt: receivedAt + route.dedupe.ttlMs } : undefined;
  if (relayedId === undefined) return own;
  const until = Date.now() + RELAY_DEDUPE_MS;
  return own ? { key: own.key, expiresAt: Math.max(own.expiresAt, until) } : { key: `relay:${relayedId}`, expiresAt: until };
}

/** `relayedId`: the edge's event id, for a request pulled from a relay (src/relay/relay-ingest.ts). */
export async function receive(route: CompiledRoute, req: InboundRequest, deps: ReceiveDeps, relayedId?: string): Promise<Answer> {
  const { metrics, log } = deps;
  const r = route.name;
  const count = (outcome: "accepted" | "rejected" | "duplicate" | "ignored" | "invalid") => {
    metrics.eventsReceived.inc({ route: r, outcome });
    deps.tally?.received(r, outcome);
  };

  // A config fault, not the sender's: a 5xx makes the provider retry once the config is fixed.
  const expressionFailed = (err: ExpressionError): Answer => {
    count("invalid");
    log.error({ route: r, err: err.message }, "route expression failed; event not accepted");
    return { status: 500, body: { error: "route expression failed" } };
  };
  let admission: Awaited<ReturnType<typeof admit>>;
  try {
    admission = await admit(route, req);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return expressionFailed(err);
  }

  const refuse = (reason: string, status: number, msg: string, level: "info" | "warn" = "info") => {
    const fields = { route: r, status, reason };
    if (deps.refusals) deps.refusals.note(`${r}\0${reason}`, level, fields, msg);
    else log[level](fields, msg);
  };

  const formKey = `${r}\0form-json`;
  // Once warned, a route's form bodies are not decoded and parsed again for it.
  if (admission.kind !== "rejected" && !deps.refusals?.hasWarned(formKey) && formBodyIsJson(req.rawBody, req.headers["content-type"])) {
    const fields = { route: r, contentType: "application/x-www-form-urlencoded" };
    const msg =
      "a body sent as a form (Content-Type: application/x-www-form-urlencoded) is valid JSON, so filters and targets see form fields, not JSON; curl's -d sends that content type unless told otherwise: add -H 'Content-Type: application/json'";
    if (deps.refusals) deps.refusals.warnOnce(formKey, fields, msg);
    else log.warn(fields, msg);
  }

  switch (admission.kind) {
    case "rejected":
      count("rejected");
      // The reason stays in the log: telling the client which check failed helps only an attacker.
      refuse(admission.reason, 401, "verification failed", "warn");
      return { status: 401, body: { error: "verification failed" }, refusal: admission.reason };
    case "invalid":
      count("invalid");
      if (admission.reason === "body_not_multipart") {
        refuse(
          admission.reason,
          400,
          "request refused: the body is not well-formed multipart/form-data (no boundary, cut short, or too many parts)",
        );
        return { status: 400, body: { error: "body is not valid multipart/form-data" }, refusal: admission.reason };
      }
      refuse(admission.reason, 400, "request refused: the body is not valid JSON, and this route's verify scheme reads it");
      return { status: 400, body: { error: "body is not valid JSON" }, refusal: admission.reason };
    case "handshake": {
      const { followUp, ...answer } = admission.answer;
      if (followUp) {
        try {
          await followUp.run();
        } catch (err) {
          count("invalid");
          // A 5xx makes the provider send the handshake again; the reason is ours to log, not to tell.
          log.warn({ route: r, err: (err as Error).message }, `provider handshake failed: could not ${followUp.what}`);
          return { status: 502, body: { error: "handshake failed" } };
        }
      }
      count("ignored");
      log.info({ route: r }, followUp ? `provider handshake answered: ${followUp.what}` : "provider handshake answered");
      return answer;
    }
    case "ignored": {
      const ignored = { status: "ignored" };
      let answer: Answer = { status: 200, body: ignored };
      if (route.respond?.ignored) {
        try {
          answer = await renderAnswer(route.respond.ignored, admission.event, ignored);
        } catch (err) {
          if (!(err instanceof ExpressionError)) throw err;
          return expressionFailed(err);
        }
      }
      count("ignored");
      log.debug({ route: r, eventId: admission.event.id }, "route filter said no");
      return answer;
    }
    case "accept":
      break;
  }

  const { event, dedupeKey } = admission;
  const accepted = { status: "accepted", id: event.id };
  // Every answer this event may get is rendered before it is stored: an expression that fails
  // answers 500 and stores nothing, as a route filter's does, so the provider sends it again.
  let answers: PreparedAnswers;
  try {
    answers = await prepareAnswers(route.respond, event, accepted);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    return expressionFailed(err);
  }
  // Waiting before the event is stored: the worker may claim it as soon as it is.
  const wait = answers.target && deps.answers?.expect(event.id, answers.target.target, answers.target.timeoutMs);
  try {
    const result = await deps.store.enqueue({
      event,
      targets: route.targetNames,
      dedupe: dedupeFor(route, dedupeKey, req.receivedAt, relayedId),
    });
    deps.outage?.succeeded();
    if (result.status === "duplicate") {
      wait?.cancel();
      count("duplicate");
      log.info({ route: r, eventId: result.id }, "duplicate delivery answered");
      return { status: 200, body: { status: "duplicate", id: result.id } };
    }
  } catch (err) {
    wait?.cancel();
    if (!(err instanceof StoreUnavailableError)) throw err;
    if (deps.outage) {
      deps.outage.failed(err);
      refuse("store_unavailable", 503, "event not accepted: the store is unavailable", "warn");
    } else log.error({ route: r, err: err.message }, "store unavailable; event not accepted");
    return { status: 503, body: { error: "store unavailable" } };
  }
  count("accepted");
  deps.onAccepted?.(event, route.targetNames.length);
  deps.feed?.publish(() => ({ type: "event", id: event.id, route: r, receivedAt: event.receivedAt, targets: route.targetNames }));
  // Debug, not info: a line per request costs the hot path; the delivery lines carry the id.
  log.debug({ route: r, eventId: event.id }, "event accepted");
  if (!answers.target) return answers.accepted ?? { status: 202, body: accepted };
  const attempt = wait ? await wait.result : "timeout";
  const { answer, kind } = answerOfAttempt(answers.target, attempt, answers, { route: r, eventId: event.id }, log);
  metrics.answers.inc({ route: r, answer: kind });
  return answer;
}

/** The answers a stored event may get, rendered: the fixed one, or a target's fallback and failure. */
interface PreparedAnswers {
  accepted?: RenderedAnswer;
  target?: TargetRespond;
  fallback?: RenderedAnswer;
  onFailure?: RenderedAnswer;
}

async function prepareAnswers(respond: CompiledRespond | undefined, event: ReceivedEvent, accepted: unknown): Promise<PreparedAnswers> {
  if (respond?.target) {
    const { target } = respond;
    const fallback = await renderAnswer(target.fallback, event, accepted);
    const onFailure = target.onFailure === target.fallback ? fallback : await renderAnswer(target.onFailure, event, accepted);
    return { target, fallback, onFailure };
  }
  return respond?.accepted ? { accepted: await renderAnswer(respond.accepted, event, accepted) } : {};
}

/** The target's first attempt → the webhook's answer, and which kind it is (for the metric). */
function answerOfAttempt(
  target: TargetRespond,
  attempt: AttemptAnswer | "timeout",
  answers: PreparedAnswers,
  fields: { route: string; eventId: string },
  log: Logger,
): { answer: Answer; kind: AnswerKind } {
  const fallback = { answer: answers.fallback ?? { status: 202 }, kind: "fallback" as const };
  const onFailure = { answer: answers.onFailure ?? fallback.answer, kind: "on_failure" as const };
  if (attempt === "timeout") {
    log.debug(
      { ...fields, target: target.target },
      "the target did not answer within respond.timeout: fallback answered, delivery goes on",
    );
    return fallback;
  }
  if (attempt.kind === "skipped") return fallback;
  if (attempt.kind === "failed") return onFailure;
  if (attempt.answer.kind === "too_large") {
    log.warn(
      { ...fields, target: target.target, limit: attempt.answer.limit },
      "the target's answer is larger than server.body_limit: on_failure answered instead (the delivery itself succeeded)",
    );
    return onFailure;
  }
  return { answer: targetAnswer(target, attempt.answer), kind: "target" };
}
