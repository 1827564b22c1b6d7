import { randomUUID } from "node:crypto";
import { defineBodyHmac } from "./body-hmac.js";

/**
 * Sentry integration platform: `Sentry-Hook-Signature`, the hex HMAC-SHA256 of the raw body,
 * keyed with the integration's client secret.
 * https://docs.sentry.io/organization/integrations/integration-platform/webhooks/#sentry-hook-signature
 */
export const sentry = defineBodyHmac({
  type: "sentry",
  description: "`Sentry-Hook-Signature`: hex HMAC-SHA256 of body, keyed with the integration's client secret",
  deliveryId: "`Request-ID`",
  headers: ["Sentry-Hook-Signature"],
  encoding: "hex",
  deliveryIdOf: (headers) => headers["request-id"],
  // Route filters test the resource (`headers."sentry-hook-resource" = "issue"`).
  providerHeaders: (_body, now) => ({
    "Sentry-Hook-Resource": "issue",
    "Sentry-Hook-Timestamp": String(Math.floor(now / 1000)),
    "Request-ID": randomUUID(),
  }),
});
