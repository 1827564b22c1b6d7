import { standardWebhooksVerifier } from "./standard-webhooks.js";
import { defineVerifier } from "./verifier.js";

/**
 * Svix: Standard Webhooks under `svix-id`, `svix-timestamp`, `svix-signature` (the spec's
 * `webhook-*` names are accepted too). Its own type so users find it by name.
 * https://docs.svix.com/receiving/verifying-payloads/how-manual
 */
export const svix = defineVerifier({
  type: "svix",
  description:
    "Svix: as `standard-webhooks`, with Svix's `svix-id`, `svix-timestamp`, `svix-signature` headers; secret `whsec_…`; `tolerance`",
  deliveryId: "`svix-id`",
  timestamped: true,
  create: (_options, ctx) => standardWebhooksVerifier(ctx, "svix"),
});
