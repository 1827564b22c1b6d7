import { defineBodyHmac } from "./body-hmac.js";
import { bodyId } from "./body-id.js";

/**
 * Intercom: `X-Hub-Signature: sha1=<hex HMAC-SHA1 of the raw body>`, keyed with the app's
 * client secret. SHA-1 is what Intercom sends; as an HMAC it is still unforgeable.
 * https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications
 */
export const intercom = defineBodyHmac({
  type: "intercom",
  description: "`X-Hub-Signature: sha1=<hex HMAC-SHA1 of body>`, keyed with the app's client secret",
  deliveryId: "body `id` (the notification id)",
  headers: ["X-Hub-Signature"],
  prefix: "sha1=",
  encoding: "hex",
  algorithm: "sha1",
  // A notification keeps its id across Intercom's retries.
  deliveryIdOf: (_headers, raw) => bodyId(raw, "id"),
});
