import { randomUUID } from "node:crypto";
import { defineBodyHmac } from "./body-hmac.js";

/**
 * Jira Cloud (admin and dynamic webhooks with a secret): WebSub's `X-Hub-Signature:
 * sha256=<hex HMAC-SHA256 of the raw body>`.
 * https://developer.atlassian.com/cloud/jira/platform/webhooks/#secure-admin-webhooks
 */
export const jira = defineBodyHmac({
  type: "jira",
  description: "`X-Hub-Signature: sha256=<hex HMAC-SHA256 of body>` (WebSub style)",
  deliveryId: "`X-Atlassian-Webhook-Identifier`",
  headers: ["X-Hub-Signature"],
  prefix: "sha256=",
  encoding: "hex",
  // Unique per delivery and unchanged across Jira's retries.
  deliveryIdOf: (headers) => headers["x-atlassian-webhook-identifier"],
  providerHeaders: () => ({ "X-Atlassian-Webhook-Identifier": randomUUID(), "X-Atlassian-Webhook-Flow": "Primary" }),
});
