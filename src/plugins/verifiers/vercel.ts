import { defineBodyHmac } from "./body-hmac.js";
import { bodyId } from "./body-id.js";

/**
 * Vercel: `x-vercel-signature`, the hex HMAC-SHA1 of the raw body, keyed with the webhook's
 * secret (or an integration's client secret).
 * https://vercel.com/docs/webhooks/webhooks-api#securing-webhooks
 */
export const vercel = defineBodyHmac({
  type: "vercel",
  description: "`x-vercel-signature`: hex HMAC-SHA1 of body",
  deliveryId: "body `id`",
  headers: ["x-vercel-signature"],
  encoding: "hex",
  algorithm: "sha1",
  deliveryIdOf: (_headers, raw) => bodyId(raw, "id"),
});
