import { defineBodyHmac } from "./body-hmac.js";
import { bodyId } from "./body-id.js";

/**
 * PagerDuty (V3 webhooks): `X-PagerDuty-Signature: v1=<hex>,v1=<hex>`: one HMAC-SHA256 of the
 * raw body per signing secret the subscription has (several while a secret rotates); any one
 * valid passes.
 * https://developer.pagerduty.com/docs/webhooks/webhook-signatures/
 */
export const pagerduty = defineBodyHmac({
  type: "pagerduty",
  description: "`X-PagerDuty-Signature: v1=<hex>[,v1=<hex>…]`: HMAC-SHA256 of body; any one valid signature passes",
  deliveryId: "body `event.id`",
  headers: ["X-PagerDuty-Signature"],
  prefix: "v1=",
  separator: ",",
  encoding: "hex",
  deliveryIdOf: (_headers, raw) => bodyId(raw, "event", "id"),
});
