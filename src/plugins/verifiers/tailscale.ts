import { defineSignedPairs } from "./signed-pairs.js";

/**
 * Tailscale: `Tailscale-Webhook-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "{t}.{raw body}">`.
 * The body is a JSON array of events, so there is no one delivery id.
 * https://tailscale.com/kb/1213/webhooks#verifying-an-event-signature
 */
export const tailscale = defineSignedPairs({
  type: "tailscale",
  description: "`Tailscale-Webhook-Signature: t=…,v1=<hex>` over `{t}.{body}`; `tolerance`",
  deliveryId: "",
  header: "Tailscale-Webhook-Signature",
  separator: ",",
  tsKey: "t",
  sigKey: "v1",
  joiner: ".",
  providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "Tailscale-Webhook" }),
});
