import { sharedSecret } from "./shared-secret.js";
import { defineVerifier } from "./verifier.js";

/**
 * Cisco Meraki: the `shared-secret` scheme with Meraki's own field, `sharedSecret`, under the
 * name users look for. Nothing signs the body; the field is removed before the event is stored.
 * https://developer.cisco.com/meraki/webhooks/introduction/#shared-secret
 */
export const meraki = defineVerifier({
  type: "meraki",
  description:
    "Cisco Meraki: the JSON body's `sharedSecret` equals the secret (as `shared-secret`); the field is removed before the event is stored. Nothing signs the body: use HTTPS",
  deliveryId: "body `alertId`",
  create: (_options, ctx) => sharedSecret.create({ type: "shared-secret" }, ctx),
});
