import { randomUUID } from "node:crypto";
import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, isRecord, type VerifyFailure } from "./verifier.js";

const PREFIX = "sha256=";
const ID = "twitch-eventsub-message-id";
const TIMESTAMP = "twitch-eventsub-message-timestamp";
const SIGNATURE = "twitch-eventsub-message-signature";
const TYPE = "twitch-eventsub-message-type";

/** RFC 3339 as Twitch writes it (`2026-11-29T12:00:00.123456789Z`); Date.parse alone takes too much. */
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function timeFailure(text: string, receivedAt: number, toleranceMs: number): VerifyFailure | undefined {
  // Date.parse keeps milliseconds only; the nanoseconds Twitch adds do not matter at this scale.
  const ms = RFC3339.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) return "malformed_signature";
  return Math.abs(receivedAt - ms) <= toleranceMs ? undefined : "timestamp_out_of_tolerance";
}

/**
 * Twitch EventSub: `Twitch-Eventsub-Message-Signature: sha256=<hex HMAC-SHA256 of id + timestamp +
 * raw body>`, keyed with the subscription's secret; the timestamp is RFC 3339. A new subscription
 * is confirmed by echoing `challenge` as text/plain.
 * https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message
 */
export const twitch = defineVerifier({
  type: "twitch",
  description:
    "`Twitch-Eventsub-Message-Signature: sha256=<hex>` over message id + timestamp + body (EventSub); `tolerance`; answers `webhook_callback_verification` with the challenge as text/plain",
  deliveryId: "`Twitch-Eventsub-Message-Id`",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const id = req.headers[ID];
      const ts = req.headers[TIMESTAMP];
      const header = req.headers[SIGNATURE];
      if (!id || !ts || !header) return { ok: false, reason: "missing_signature" };
      const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
      const time = timeFailure(ts, req.receivedAt, ctx.toleranceMs);
      if (!given || time === "malformed_signature") return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", id, ts, req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // After the signature: this reason then only names genuine but old (replayed) requests.
      if (time) return { ok: false, reason: time };
      // Twitch resends a notification it thinks was lost with the same message id.
      return accepted(id);
    },
    sign(body, now, sent = {}) {
      const id = sent[ID] ?? randomUUID();
      const ts = new Date(now).toISOString();
      const signature = PREFIX + hmac("sha256", firstKey(ctx), id, ts, body).toString("hex");
      return {
        headers: {
          "Twitch-Eventsub-Message-Id": id,
          "Twitch-Eventsub-Message-Timestamp": ts,
          "Twitch-Eventsub-Message-Signature": signature,
        },
        body,
      };
    },
    providerHeaders: () => ({
      "Content-Type": "application/json",
      "Twitch-Eventsub-Message-Type": "notification",
      "Twitch-Eventsub-Message-Retry": "0",
      "Twitch-Eventsub-Subscription-Type": "channel.follow",
      "Twitch-Eventsub-Subscription-Version": "2",
    }),
    // https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#responding-to-a-challenge-request
    handshake(headers, body) {
      if (headers[TYPE] !== "webhook_callback_verification" || !isRecord(body) || typeof body.challenge !== "string") return undefined;
      return { status: 200, body: body.challenge };
    },
  }),
});
