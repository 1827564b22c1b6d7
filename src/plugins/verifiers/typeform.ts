import { defineBodyHmac } from "./body-hmac.js";
import { bodyId } from "./body-id.js";

/**
 * Typeform: `Typeform-Signature: sha256=<base64 HMAC-SHA256 of the raw body>` (base64, not
 * hex, despite the prefix), keyed with the secret set on the form's webhook.
 * https://www.typeform.com/developers/webhooks/secure-your-webhooks/
 */
export const typeform = defineBodyHmac({
  type: "typeform",
  description: "`Typeform-Signature: sha256=<base64 HMAC-SHA256 of body>`",
  deliveryId: "body `event_id`",
  headers: ["Typeform-Signature"],
  prefix: "sha256=",
  encoding: "base64",
  // Typeform retries a failed delivery with the same event_id.
  deliveryIdOf: (_headers, raw) => bodyId(raw, "event_id"),
});
