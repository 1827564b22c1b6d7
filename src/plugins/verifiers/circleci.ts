import { defineBodyHmac } from "./body-hmac.js";
import { bodyId } from "./body-id.js";

/**
 * CircleCI: `circleci-signature: v1=<hex HMAC-SHA256 of the raw body>`, a comma-separated list
 * so that later versions can be added beside v1; only v1 entries are checked.
 * https://circleci.com/docs/guides/integration/outbound-webhooks/#payload-signature
 */
export const circleci = defineBodyHmac({
  type: "circleci",
  description: "`circleci-signature: v1=<hex HMAC-SHA256 of body>` (other versions in the list are ignored)",
  deliveryId: "body `id`",
  headers: ["circleci-signature"],
  prefix: "v1=",
  separator: ",",
  encoding: "hex",
  // CircleCI's docs: duplicates happen, and the payload's id names the event.
  deliveryIdOf: (_headers, raw) => bodyId(raw, "id"),
  providerHeaders: () => ({ "Circleci-Event-Type": "workflow-completed" }),
});
