import { standardWebhooksVerifier } from "./standard-webhooks.js";
import { defineVerifier } from "./verifier.js";

/**
 * Clerk signs its webhooks through Svix: `svix-id`, `svix-timestamp`, `svix-signature`, keyed
 * with the endpoint's `whsec_…` signing secret.
 * https://clerk.com/docs/webhooks/sync-data#verify-the-webhook
 */
export const clerk = defineVerifier({
  type: "clerk",
  description: "Clerk (signed through Svix): as `svix`, with the endpoint's `whsec_…` signing secret; `tolerance`",
  deliveryId: "`svix-id`",
  timestamped: true,
  create: (_options, ctx) => standardWebhooksVerifier(ctx, "svix"),
});
