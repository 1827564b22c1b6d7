import { Type } from "@sinclair/typebox";
import { anyKeyEquals, defineVerifier, firstKey, HEADER_NAME_PATTERN, type SignedRequest } from "./verifier.js";

const BEARER = /^bearer +/i;

type Source = { kind: "bearer" } | { kind: "header"; name: string; sendAs: string } | { kind: "query"; name: string };

/**
 * A bearer token, a secret header or a secret query parameter: the credential itself travels in
 * the request, so it is compared in constant time and scrubbed from the event before it is stored.
 */
export const token = defineVerifier({
  type: "token",
  description:
    "`Authorization: Bearer <secret>` by default, or a header or query parameter that equals the secret (options below). The token is removed from the stored event",
  deliveryId: "",
  properties: {
    header: Type.Optional(
      Type.String({
        pattern: HEADER_NAME_PATTERN,
        description: "a header name: that header's whole value is the secret (instead of `Authorization: Bearer`)",
      }),
    ),
    query: Type.Optional(
      Type.String({ minLength: 1, description: "a query parameter name: its value is the secret (instead of a header)" }),
    ),
  },
  create: (options, ctx) => {
    if (options.header !== undefined && options.query !== undefined) {
      throw new Error("token: give header or query, not both");
    }
    const source: Source =
      options.header !== undefined
        ? { kind: "header", name: options.header.toLowerCase(), sendAs: options.header }
        : options.query !== undefined
          ? { kind: "query", name: options.query }
          : { kind: "bearer" };
    return {
      verify(req) {
        const value =
          source.kind === "query" ? req.query[source.name] : req.headers[source.kind === "bearer" ? "authorization" : source.name];
        if (!value) return { ok: false, reason: "missing_signature" };
        // The auth scheme name is case-insensitive (RFC 9110 §11.1); the token is not.
        if (source.kind === "bearer" && !BEARER.test(value)) return { ok: false, reason: "malformed_signature" };
        const given = source.kind === "bearer" ? value.replace(BEARER, "") : value;
        return anyKeyEquals(ctx.keys, given) ? { ok: true } : { ok: false, reason: "signature_mismatch" };
      },
      sign(body): SignedRequest {
        const secret = firstKey(ctx).toString("utf8");
        if (source.kind === "query") return { headers: {}, query: { [source.name]: secret }, body };
        return { headers: source.kind === "bearer" ? { Authorization: `Bearer ${secret}` } : { [source.sendAs]: secret }, body };
      },
      scrub(event) {
        if (source.kind === "query") delete event.query[source.name];
        else delete event.headers[source.kind === "bearer" ? "authorization" : source.name];
      },
    };
  },
});
