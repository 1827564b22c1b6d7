import type { CompiledRespond } from "../config/compile-respond.js";
import { formatDelay } from "./backoff.js";
import type { ReceivedEvent } from "./event.js";
import { type RenderedAnswer, renderAnswer } from "./respond.js";

/** An answer as `switchyard test` prints it. */
export interface AnswerReport {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** What a route's `respond` would answer a stored event; a target's answer is described, not fetched. */
export type RespondReport =
  | { kind: "fixed"; answer: AnswerReport }
  | {
      kind: "target";
      target: string;
      timeout: string;
      /** An exec target's answer on exit 0 (an http target's carries its own status and type). */
      exec: { status: number; contentType: string };
      headers: Record<string, string>;
      fallback: AnswerReport;
      onFailure: AnswerReport;
    };

function shown(a: RenderedAnswer): AnswerReport {
  return { status: a.status, headers: a.headers, body: a.body.toString() };
}

/** Throws ExpressionError as the daemon's rendering does (it answers 500 and stores nothing). */
export async function respondReport(respond: CompiledRespond | undefined, event: ReceivedEvent): Promise<RespondReport | undefined> {
  const accepted = { status: "accepted", id: event.id };
  if (respond?.target) {
    const t = respond.target;
    const fallback = shown(await renderAnswer(t.fallback, event, accepted));
    const onFailure = t.onFailure === t.fallback ? fallback : shown(await renderAnswer(t.onFailure, event, accepted));
    return {
      kind: "target",
      target: t.target,
      timeout: formatDelay(t.timeoutMs),
      exec: { status: t.status, contentType: t.contentType },
      headers: t.headers,
      fallback,
      onFailure,
    };
  }
  if (respond?.accepted) return { kind: "fixed", answer: shown(await renderAnswer(respond.accepted, event, accepted)) };
  return undefined;
}

/** The ignored answer `respond.ignored` gives, or undefined for today's. */
export async function ignoredReport(respond: CompiledRespond | undefined, event: ReceivedEvent): Promise<AnswerReport | undefined> {
  return respond?.ignored ? shown(await renderAnswer(respond.ignored, event, { status: "ignored" })) : undefined;
}
