import { sign as signWith } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { checkTimestampedSignature, p256PublicKey, privateKeyFor, type TimestampedSignature } from "./public-key.js";
import { accepted, decodeBase64, defineVerifier } from "./verifier.js";

const SIGNATURE = "x-twilio-email-event-webhook-signature";
const TIMESTAMP = "x-twilio-email-event-webhook-timestamp";

const SIGNED: TimestampedSignature = {
  signatureHeader: SIGNATURE,
  timestampHeader: TIMESTAMP,
  decode: decodeBase64,
  // A DER P-256 signature is 8 to 72 bytes; anything else is not one.
  wellFormed: (signature) => signature.length >= 8 && signature.length <= 72,
  message: (ts, body) => Buffer.concat([Buffer.from(ts), body]),
  algorithm: "sha256",
};

/** Strips PEM armour and line breaks, so the key may be pasted either way. */
const derOf = (text: string) => decodeBase64(text.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));

/**
 * Twilio SendGrid's Signed Event Webhook: `X-Twilio-Email-Event-Webhook-Signature`, a base64
 * DER ECDSA P-256/SHA-256 signature of `X-Twilio-Email-Event-Webhook-Timestamp` + raw body.
 * The body is an array of events (each with its own `sg_event_id`), so there is no one delivery id.
 * https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
 */
export const sendgrid = defineVerifier({
  type: "sendgrid",
  description:
    "`X-Twilio-Email-Event-Webhook-Signature`: base64 ECDSA P-256 signature of `X-Twilio-Email-Event-Webhook-Timestamp` + body under `public_key`; `tolerance`",
  deliveryId: "",
  needsSecret: false,
  open: false,
  timestamped: true,
  properties: {
    public_key: Type.String({
      minLength: 1,
      description:
        "the verification key SendGrid shows under Mail Settings → Event Webhook (base64 SubjectPublicKeyInfo; PEM also accepted)",
    }),
  },
  create: (options, ctx) => {
    const key = p256PublicKey(derOf(options.public_key), "sendgrid");
    return {
      verify(req) {
        const failure = checkTimestampedSignature(req, key, ctx.toleranceMs, SIGNED);
        if (failure) return { ok: false, reason: failure };
        return accepted(undefined);
      },
      sign(body, now, _headers, keys) {
        const ts = String(Math.floor(now / 1000));
        const sig = signWith(SIGNED.algorithm, SIGNED.message(ts, body), privateKeyFor(keys, key, "sendgrid"));
        return {
          headers: { "X-Twilio-Email-Event-Webhook-Signature": sig.toString("base64"), "X-Twilio-Email-Event-Webhook-Timestamp": ts },
          body,
        };
      },
      providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "SendGrid Event API" }),
    };
  },
});
