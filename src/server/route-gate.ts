import type Koa from "koa";
import type { CompiledRoute, ServerSettings } from "../config/compile.js";
import { clientAddress } from "./client-address.js";
import { firstValues, flattenHeaders } from "./request-parts.js";

/**
 * What a route decides before any body is read: a client outside its `allow_from` is refused,
 * and a GET that is the scheme's handshake (Meta's `hub.challenge`) is answered or refused.
 * Undefined lets the request go on (a POST to the pipeline, any other method to 405).
 */
export type GateDecision =
  | {
      kind: "refuse";
      status: 403;
      error: string;
      outcome: "rejected";
      reason: string;
      message: string;
      fields?: Record<string, unknown>;
    }
  | { kind: "answer"; status: number; body: unknown; outcome: "ignored" };

export function gateRequest(route: CompiledRoute, ctx: Koa.Context, server: Pick<ServerSettings, "trustProxy">): GateDecision | undefined {
  if (route.allowFrom) {
    const hops = server.trustProxy;
    const address = clientAddress(ctx.req.socket.remoteAddress, hops > 0 ? ctx.get("X-Forwarded-For") : undefined, hops);
    if (!route.allowFrom.allows(address)) {
      return {
        kind: "refuse",
        status: 403,
        error: "forbidden",
        outcome: "rejected",
        reason: "address_not_allowed",
        message: "request refused: its address is not in the route's allow_from",
        // Bounded: with trust_proxy the address is whatever the header said.
        fields: { address: address.slice(0, 64) },
      };
    }
  }
  if (ctx.method !== "GET" || !route.verifier.answerGet) return undefined;
  const handshake = route.verifier.answerGet({
    method: ctx.method,
    path: ctx.path,
    headers: flattenHeaders(ctx.req.headers),
    query: firstValues(new URLSearchParams(ctx.querystring)),
    rawBody: Buffer.alloc(0),
    receivedAt: Date.now(),
  });
  if (handshake?.kind === "refused") {
    return {
      kind: "refuse",
      status: 403,
      error: "verification failed",
      outcome: "rejected",
      reason: handshake.reason,
      message: "GET handshake refused: wrong or missing verify token",
    };
  }
  return handshake ? { kind: "answer", status: handshake.answer.status, body: handshake.answer.body, outcome: "ignored" } : undefined;
}
