import { defineBodyHmac } from "./body-hmac.js";

/**
 * Shopify: `X-Shopify-Hmac-Sha256`, the base64 HMAC-SHA256 of the raw body, keyed with the
 * app's client secret.
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-5-verify-the-webhook
 */
export const shopify = defineBodyHmac({
  type: "shopify",
  description: "`X-Shopify-Hmac-Sha256`: base64 HMAC-SHA256 of body",
  deliveryId: "`X-Shopify-Event-Id` (or `X-Shopify-Webhook-Id`)",
  headers: ["X-Shopify-Hmac-Sha256"],
  encoding: "base64",
  // The event id is what Shopify recommends for spotting duplicates; the webhook id (one per
  // delivery attempt series) is the fallback for older API versions that lack it.
  // https://shopify.dev/docs/apps/build/webhooks/ignore-duplicates
  deliveryIdOf: (headers) => headers["x-shopify-event-id"] || headers["x-shopify-webhook-id"],
});
