import { randomUUID } from "node:crypto";
import { accepted, anyKeyMatches, bodyField, decodeDigest, defineVerifier, firstKey, hmac, isRecord, parseJson } from "./verifier.js";

/**
 * Linear: `Linear-Signature`, the hex HMAC-SHA256 of the raw body. The signature covers no
 * header timestamp; Linear instead puts `webhookTimestamp` (epoch ms) in the signed body and
 * asks receivers to check it against replays.
 * https://linear.app/developers/webhooks#securing-webhooks
 */
export const linear = defineVerifier({
  type: "linear",
  description: "`Linear-Signature`: hex HMAC-SHA256 of body; body `webhookTimestamp` within `tolerance` when present",
  deliveryId: "`Linear-Delivery`",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["linear-signature"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = decodeDigest(header, "hex", "sha256");
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // Only read once the bytes are known to be Linear's, hence trustworthy.
      const body = parseJson(req.rawBody);
      const sentAt = body.ok && isRecord(body.value) ? body.value.webhookTimestamp : undefined;
      if (typeof sentAt === "number" && Math.abs(req.receivedAt - sentAt) > ctx.toleranceMs) {
        return { ok: false, reason: "timestamp_out_of_tolerance" };
      }
      return accepted(req.headers["linear-delivery"]);
    },
    sign(raw, now) {
      // A saved payload carries the time it was first sent; refresh it so a dry run is not refused as a replay.
      const parsed = parseJson(raw);
      const value = parsed.ok && isRecord(parsed.value) ? parsed.value : undefined;
      const body = typeof value?.webhookTimestamp === "number" ? Buffer.from(JSON.stringify({ ...value, webhookTimestamp: now })) : raw;
      return { headers: { "Linear-Signature": hmac("sha256", firstKey(ctx), body).toString("hex") }, body };
    },
    // Linear-Event names the entity (the body's `type`: Issue, Comment, Project …).
    // https://linear.app/developers/webhooks#webhook-payload
    providerHeaders(body) {
      return { "Linear-Event": bodyField(body, "type") ?? "Issue", "Linear-Delivery": randomUUID() };
    },
  }),
});
