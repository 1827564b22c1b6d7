import { sign as signWith } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { checkTimestampedSignature, ed25519PublicKey, privateKeyFor, type TimestampedSignature } from "./public-key.js";
import { accepted, bodyField, decodeHex, defineVerifier, isRecord } from "./verifier.js";

const SIGNATURE = "x-signature-ed25519";
const TIMESTAMP = "x-signature-timestamp";

const SIGNED: TimestampedSignature = {
  signatureHeader: SIGNATURE,
  timestampHeader: TIMESTAMP,
  decode: decodeHex,
  wellFormed: (signature) => signature.length === 64,
  message: (ts, body) => Buffer.concat([Buffer.from(ts), body]),
  algorithm: null,
};

/**
 * Discord interactions and webhook events: `X-Signature-Ed25519`, the hex Ed25519 signature of
 * `X-Signature-Timestamp` + raw body under the application's public key. Discord checks a new
 * endpoint with a PING (and with deliberately bad signatures, which must get 401).
 * https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers
 */
export const discord = defineVerifier({
  type: "discord",
  description:
    '`X-Signature-Ed25519`: hex Ed25519 signature of `X-Signature-Timestamp` + body under `public_key`; `tolerance`; answers the PING interaction `{"type":1}` with `{"type":1}` (and a webhook-event PING with 204)',
  deliveryId: "body `id`",
  needsSecret: false,
  open: false,
  timestamped: true,
  properties: {
    public_key: Type.String({
      pattern: "^[0-9a-fA-F]{64}$",
      description: "the application's public key, hex, from the Developer Portal's General Information page",
    }),
  },
  create: (options, ctx) => {
    const key = ed25519PublicKey(decodeHex(options.public_key), "discord");
    return {
      verify(req) {
        const failure = checkTimestampedSignature(req, key, ctx.toleranceMs, SIGNED);
        if (failure) return { ok: false, reason: failure };
        return accepted(bodyField(req.rawBody, "id"));
      },
      sign(body, now, _headers, keys) {
        const ts = String(Math.floor(now / 1000));
        const sig = signWith(SIGNED.algorithm, SIGNED.message(ts, body), privateKeyFor(keys, key, "discord"));
        return { headers: { "X-Signature-Ed25519": sig.toString("hex"), "X-Signature-Timestamp": ts }, body };
      },
      providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "Discord-Interactions/1.0 (+https://discord.com)" }),
      handshake(_headers, body) {
        if (!isRecord(body)) return undefined;
        // An interaction PING (type 1) wants a PONG (type 1). A webhook event is type 1 too, with an `event`.
        if (body.type === 1 && body.data === undefined && body.event === undefined) return { status: 200, body: { type: 1 } };
        // A webhook-event PING (type 0, with a version) wants 204 and nothing else.
        // https://discord.com/developers/docs/events/webhook-events#responding-to-a-webhook-event
        if (body.type === 0 && body.version !== undefined && body.event === undefined) return { status: 204, body: "" };
        return undefined;
      },
    };
  },
});
