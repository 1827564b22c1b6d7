import { defineSignedPairs } from "./signed-pairs.js";

/**
 * Calendly: `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`,
 * keyed with the webhook subscription's signing key.
 * https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures
 */
export const calendly = defineSignedPairs({
  type: "calendly",
  description: "`Calendly-Webhook-Signature: t=…,v1=<hex>` over `{t}.{body}`, key = the subscription's signing key; `tolerance`",
  deliveryId: "",
  header: "Calendly-Webhook-Signature",
  separator: ",",
  tsKey: "t",
  sigKey: "v1",
  joiner: ".",
  providerHeaders: () => ({ "Content-Type": "application/json" }),
});
