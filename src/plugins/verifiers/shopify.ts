import { randomUUID } from "node:crypto";
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
  // https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook
  providerHeaders: (_body, now) => ({
    "X-Shopify-Topic": "orders/create",
    "X-Shopify-Shop-Domain": "example.myshopify.com",
    "X-Shopify-API-Version": "2025-10",
    "X-Shopify-Webhook-Id": randomUUID(),
    "X-Shopify-Event-Id": randomUUID(),
    "X-Shopify-Triggered-At": new Date(now).toISOString(),
  }),
});
