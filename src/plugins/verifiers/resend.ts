import { standardWebhooksVerifier } from "./standard-webhooks.js";
import { defineVerifier } from "./verifier.js";

/**
 * Resend signs its webhooks through Svix: `svix-id`, `svix-timestamp`, `svix-signature`,
 * keyed with the endpoint's `whsec_…` signing secret.
 * https://resend.com/docs/dashboard/webhooks/verify-webhooks-requests
 */
export const resend = defineVerifier({
  type: "resend",
  description: "Resend (signed through Svix): as `svix`, with the endpoint's `whsec_…` signing secret; `tolerance`",
  deliveryId: "`svix-id`",
  timestamped: true,
  create: (_options, ctx) => standardWebhooksVerifier(ctx, "svix"),
});
