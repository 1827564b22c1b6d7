import { randomUUID } from "node:crypto";
import { defineBodyHmac } from "./body-hmac.js";

/**
 * Gitea and its fork Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature`, the hex HMAC-SHA256
 * of the raw body with no `sha256=` prefix (unlike GitHub).
 * https://docs.gitea.com/usage/webhooks, https://forgejo.org/docs/latest/user/webhooks/
 */
export const gitea = defineBodyHmac({
  type: "gitea",
  description: "`X-Gitea-Signature` or `X-Forgejo-Signature`: hex HMAC-SHA256 of body",
  deliveryId: "`X-Gitea-Delivery` / `X-Forgejo-Delivery`",
  headers: ["X-Gitea-Signature", "X-Forgejo-Signature"],
  encoding: "hex",
  deliveryIdOf: (headers) => headers["x-gitea-delivery"] ?? headers["x-forgejo-delivery"],
  // https://docs.gitea.com/usage/webhooks#event-information
  providerHeaders: () => ({ "X-Gitea-Event": "push", "X-Gitea-Event-Type": "push", "X-Gitea-Delivery": randomUUID() }),
});
