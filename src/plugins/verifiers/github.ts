import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, secretProperties } from "./verifier.js";

const PREFIX = "sha256=";

/**
 * GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`.
 * https://docs.github.com/en/webhooks/using-webhooks/validating-webhook-deliveries
 */
export const github = defineVerifier({
  type: "github",
  description: "`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`; answers `ping` with 200 and delivers nothing",
  deliveryId: "`X-GitHub-Delivery`",
  needsSecret: true,
  properties: { ...secretProperties },
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-hub-signature-256"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // The delivery id stays the same when GitHub (or a user) redelivers: exactly what dedupe needs.
      return accepted(req.headers["x-github-delivery"]);
    },
    sign(body) {
      return { headers: { "X-Hub-Signature-256": PREFIX + hmac("sha256", firstKey(ctx), body).toString("hex") }, body };
    },
    // GitHub sends `ping` when a hook is created; it only needs a 2xx, and nobody wants it delivered.
    handshake(headers) {
      return headers["x-github-event"] === "ping" ? { status: 200, body: { status: "pong" } } : undefined;
    },
  }),
});
