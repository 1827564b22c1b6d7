import { sign as signWith } from "node:crypto";
import { Type } from "@sinclair/typebox";
import { ed25519PublicKey, privateKeyFor, signatureValid } from "./public-key.js";
import { accepted, decodeBase64, defineVerifier, isRecord, parseJson, timestampFailure } from "./verifier.js";

const SIGNATURE = "telnyx-signature-ed25519";
const TIMESTAMP = "telnyx-timestamp";

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
        const header = req.headers[SIGNATURE];
        const ts = req.headers[TIMESTAMP];
        if (!header || !ts) return { ok: false, reason: "missing_signature" };
        const given = decodeBase64(header);
        const time = timestampFailure(ts, req.receivedAt, ctx.toleranceMs);
        if (given?.length !== 64 || (time !== undefined && time !== "timestamp_out_of_tolerance")) {
          return { ok: false, reason: "malformed_signature" };
        }
        if (!signatureValid(null, Buffer.concat([Buffer.from(`${ts}|`), req.rawBody]), key, given))
          return { ok: false, reason: "signature_mismatch" };
        // After the signature: this reason then only names genuine but old (replayed) requests.
        if (time) return { ok: false, reason: time };
        return accepted(eventId(req.rawBody));
      },
      sign(body, now, _headers, keys) {
        const ts = String(Math.floor(now / 1000));
        const sig = signWith(null, Buffer.concat([Buffer.from(`${ts}|`), body]), privateKeyFor(keys, key, "telnyx"));
        return { headers: { "telnyx-signature-ed25519": sig.toString("base64"), "telnyx-timestamp": ts }, body };
      },
      providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "telnyx-webhooks" }),
    };
  },
});
