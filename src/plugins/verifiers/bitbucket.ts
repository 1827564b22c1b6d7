import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, secretProperties } from "./verifier.js";

const PREFIX = "sha256=";

/**
 * Bitbucket (Cloud and Data Center): `X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>`.
 * Note the header is the one GitHub uses for SHA-1, but Bitbucket puts SHA-256 in it.
 * https://support.atlassian.com/bitbucket-cloud/docs/manage-webhooks/#Secure-webhooks
 */
export const bitbucket = defineVerifier({
  type: "bitbucket",
  description: "`X-Hub-Signature: sha256=<hex>`",
  deliveryId: "`X-Request-UUID`",
  needsSecret: true,
  properties: { ...secretProperties },
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-hub-signature"];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
      if (!given) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      return accepted(req.headers["x-request-uuid"]);
    },
    sign(body) {
      return { headers: { "X-Hub-Signature": PREFIX + hmac("sha256", firstKey(ctx), body).toString("hex") }, body };
    },
  }),
});
