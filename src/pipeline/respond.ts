import type { CompiledAnswer, TargetRespond } from "../config/compile-respond.js";
import type { TargetAnswer } from "../plugins/targets/target.js";
import type { ReceivedEvent } from "./event.js";

/**
 * Answers a route's `respond` gives: a fixed or templated one, rendered over the event, and a
 * target's own answer with the route's additions. Throws ExpressionError when a body fails.
 */

/** An answer as the listener sends it; headers are set in order, a later spelling of a name wins. */
export interface RenderedAnswer {
  status: number;
  headers: Record<string, string>;
  body: string | Buffer;
}

/** JSON that koa would send for the usual body, as text, so every answer leaves the same way. */
function json(value: unknown): { body: string; type: string } {
  return { body: JSON.stringify(value) ?? "", type: "application/json; charset=utf-8" };
}

function withType(headers: Record<string, string>, type: string | undefined): Record<string, string> {
  if (type === undefined || Object.keys(headers).some((h) => h.toLowerCase() === "content-type")) return headers;
  return { "Content-Type": type, ...headers };
}

/**
 * `answer` over the event. Without a body, `usual` is the body (what the case answers today);
 * a string result is text, any other result JSON, and nothing (no match) an empty body.
 */
export async function renderAnswer(answer: CompiledAnswer, event: ReceivedEvent, usual: unknown): Promise<RenderedAnswer> {
  let body: string;
  let type: string | undefined;
  if (!answer.body) ({ body, type } = json(usual));
  else {
    const value = await answer.body.evaluate(event);
    if (value === undefined) body = "";
    else if (typeof value === "string") {
      body = value;
      type = "text/plain; charset=utf-8";
    } else ({ body, type } = json(value));
  }
  return { status: answer.status, headers: withType(answer.headers, type), body };
}

/**
 * A target's answer, passed on: an http target's status and headers, or for exec (which has
 * neither) `respond.status` and `respond.content_type`; then `respond.headers` on top.
 */
export function targetAnswer(respond: TargetRespond, answer: Extract<TargetAnswer, { kind: "answer" }>): RenderedAnswer {
  const own = answer.status === undefined ? withType({}, respond.contentType) : answer.headers;
  return { status: answer.status ?? respond.status, headers: { ...own, ...respond.headers }, body: answer.body };
}
