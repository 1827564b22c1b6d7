import { randomUUID } from "node:crypto";
import { defineBodyHmac } from "./body-hmac.js";

/**
 * Bitbucket (Cloud and Data Center): `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
 * Note the header is the one GitHub uses for SHA-1, but Bitbucket puts SHA-256 in it.
 * https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks
 */
export const bitbucket = defineBodyHmac({
  type: "bitbucket",
  description: "`X-Hub-Signature: sha256=<hex>`",
  deliveryId: "`X-Request-UUID`",
  headers: ["X-Hub-Signature"],
  prefix: "sha256=",
  encoding: "hex",
  deliveryIdOf: (headers) => headers["x-request-uuid"],
  // https://support.atlassian.com/bitbucket-cloud/docs/event-payloads/#HTTP-headers
  providerHeaders: () => ({ "X-Event-Key": "repo:push", "X-Request-UUID": randomUUID(), "X-Hook-UUID": randomUUID() }),
});
