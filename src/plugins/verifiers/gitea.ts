import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, secretProperties } from "./verifier.js";

/**
 * Gitea and its fork Forgejo: `X-Gitea-Signature` / `X-Forgejo-Signature`, the hex HMAC-SHA256
 * of the raw body with no `sha256=` prefix (unlike GitHub).
 * https://docs.gitea.com/usage/webhooks, https://forgejo.org/docs/latest/user/webhooks/
 */
export const gitea = defineVerifier({
  type: "gitea",
  description: "`X-Gitea-Signature` or `X-Forgejo-Signature`: hex HMAC-SHA256 of body",
  deliveryId: "`X-Gitea-Delivery` / `X-Forgejo-Delivery`",
  needsSecret: true,
  properties: { ...secretProperties },
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-gitea-signature"] ?? req.headers["x-forgejo-signature"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = decodeDigest(header, "hex", "sha256");
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      return accepted(req.headers["x-gitea-delivery"] ?? req.headers["x-forgejo-delivery"]);
    },
    sign(body) {
      return { headers: { "X-Gitea-Signature": hmac("sha256", firstKey(ctx), body).toString("hex") }, body };
    },
  }),
});
