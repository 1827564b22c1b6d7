import { randomUUID } from "node:crypto";
import { defineBodyHmac } from "./body-hmac.js";

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
export const github = defineBodyHmac({
  type: "github",
  description: "`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`; answers `ping` with 200 and delivers nothing",
  deliveryId: "`X-GitHub-Delivery`",
  headers: ["X-Hub-Signature-256"],
  prefix: "sha256=",
  encoding: "hex",
  // The delivery id stays the same when GitHub (or a user) redelivers: exactly what dedupe needs.
  deliveryIdOf: (headers) => headers["x-github-delivery"],
  // Every delivery names its event; route filters test it (`headers."x-github-event" = "push"`).
  // https://docs.github.com/en/webhooks/webhook-events-and-payloads#delivery-headers
  providerHeaders: () => ({ "X-GitHub-Event": "push", "X-GitHub-Delivery": randomUUID() }),
  // GitHub sends `ping` when a hook is created; it only needs a 2xx, and nobody wants it delivered.
  handshake: (headers) => (headers["x-github-event"] === "ping" ? { status: 200, body: { status: "pong" } } : undefined),
});
