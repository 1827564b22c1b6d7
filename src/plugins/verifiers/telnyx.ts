import { sign as signWith } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { checkTimestampedSignature, ed25519PublicKey, privateKeyFor, type TimestampedSignature } from "./public-key.js";
import { accepted, decodeBase64, defineVerifier, isRecord, parseJson } from "./verifier.js";

const SIGNATURE = "telnyx-signature-ed25519";
const TIMESTAMP = "telnyx-timestamp";

const SIGNED: TimestampedSignature = {
  signatureHeader: SIGNATURE,
  timestampHeader: TIMESTAMP,
  decode: decodeBase64,
  wellFormed: (signature) => signature.length === 64,
  message: (ts, body) => Buffer.concat([Buffer.from(`${ts}|`), body]),
  algorithm: null,
};

/** Telnyx's event id, `data.id`: the same on each retry of one event. */
function eventId(raw: Buffer): unknown {
  const parsed = parseJson(raw);
  return parsed.ok && isRecord(parsed.value) && isRecord(parsed.value.data) ? parsed.value.data.id : undefined;
}

/**
 * Telnyx (API v2): `telnyx-signature-ed25519`, the base64 Ed25519 signature of
 * `{telnyx-timestamp}|{raw body}` under the account's public key.
 * https://developers.telnyx.com/docs/messaging/messages/receiving-webhooks
 */
export const telnyx = defineVerifier({
  type: "telnyx",
  description: "`telnyx-signature-ed25519`: base64 Ed25519 signature of `{telnyx-timestamp}|{body}` under `public_key`; `tolerance`",
  deliveryId: "body `data.id`",
  needsSecret: false,
  open: false,
  timestamped: true,
  properties: {
    public_key: Type.String({
      pattern: "^[A-Za-z0-9+/]{43}=?$",
      description: "the account's public key, base64, from the Mission Control Portal (Keys & Credentials → Public Key)",
    }),
  },
  create: (options, ctx) => {
    const key = ed25519PublicKey(decodeBase64(options.public_key), "telnyx");
    return {
      verify(req) {
        const failure = checkTimestampedSignature(req, key, ctx.toleranceMs, SIGNED);
        if (failure) return { ok: false, reason: failure };
        return accepted(eventId(req.rawBody));
      },
      sign(body, now, _headers, keys) {
        const ts = String(Math.floor(now / 1000));
        const sig = signWith(SIGNED.algorithm, SIGNED.message(ts, body), privateKeyFor(keys, key, "telnyx"));
        return { headers: { "telnyx-signature-ed25519": sig.toString("base64"), "telnyx-timestamp": ts }, body };
      },
      providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "telnyx-webhooks" }),
    };
  },
});
