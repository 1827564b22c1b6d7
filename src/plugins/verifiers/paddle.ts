import { defineSignedPairs } from "./signed-pairs.js";
import { bodyField } from "./verifier.js";

/**
 * Paddle Billing: `Paddle-Signature: ts=<unix seconds>;h1=<hex HMAC-SHA256 of "{ts}:{raw body}">`,
 * keyed with the notification destination's secret key (`pdl_ntfset_…`).
 * https://developer.paddle.com/webhooks/signature-verification
 */
export const paddle = defineSignedPairs({
  type: "paddle",
  description: "`Paddle-Signature: ts=…;h1=<hex>` over `{ts}:{body}` (Paddle Billing), key = the destination's secret key; `tolerance`",
  deliveryId: "body `event_id`",
  header: "Paddle-Signature",
  separator: ";",
  tsKey: "ts",
  sigKey: "h1",
  joiner: ":",
  // Paddle retries a notification with the same event_id.
  deliveryIdOf: (req) => bodyField(req.rawBody, "event_id"),
  providerHeaders: () => ({ "Content-Type": "application/json" }),
});
