import { randomUUID } from "node:crypto";
import { decodeKey, verifyStandardWebhooks } from "./standard-webhooks.js";
import { accepted, anyKeyEquals, bodyField, defineVerifier, firstKey } from "./verifier.js";

const TOKEN_HEADER = "x-gitlab-token";

/**
 * `X-Gitlab-Event` for a payload's `object_kind`: GitLab names the event in the header and the
 * body alike, and route filters test either.
 * https://docs.gitlab.com/user/project/integrations/webhook_events/
 */
const EVENT_HEADER: Readonly<Record<string, string>> = {
  push: "Push Hook",
  tag_push: "Tag Push Hook",
  issue: "Issue Hook",
  note: "Note Hook",
  merge_request: "Merge Request Hook",
  wiki_page: "Wiki Page Hook",
  pipeline: "Pipeline Hook",
  build: "Job Hook",
  deployment: "Deployment Hook",
  release: "Release Hook",
};

/**
 * The HMAC key of a GitLab signing token: the base64 after `whsec_` when it is written the
 * Standard Webhooks way, else the token's own bytes.
 */
function signingKey(secret: Buffer): Buffer {
  return secret.toString("utf8").startsWith("whsec_") ? decodeKey(secret) : secret;
}

/**
 * GitLab sends the secret token itself in `X-Gitlab-Token` (no signature), so it is compared
 * in constant time and then scrubbed: it is a credential and must not reach targets.
 * https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook
 * A hook with a signing token (GitLab 18.x) is signed the Standard Webhooks way instead:
 * `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256 of
 * "{id}.{ts}.{body}">`. A request that carries a signature is judged by it alone.
 * https://gitlab.com/gitlab-org/gitlab/-/merge_requests/230944
 */
export const gitlab = defineVerifier({
  type: "gitlab",
  description:
    "`X-Gitlab-Token` equals the secret (the token is removed from the stored event); or, for a hook with a signing token, its Standard Webhooks `webhook-signature` (key: the token, or the base64 after `whsec_`), `tolerance`",
  deliveryId: "`X-Gitlab-Event-UUID` (or `webhook-id`)",
  credentialHeaders: [TOKEN_HEADER],
  timestamped: true,
  create: (_options, ctx) => {
    const signingKeys = ctx.keys.map(signingKey);
    return {
      verify(req) {
        if (req.headers["webhook-signature"] !== undefined) {
          const verdict = verifyStandardWebhooks(req, signingKeys, ctx.toleranceMs);
          return verdict.ok ? accepted(req.headers["x-gitlab-event-uuid"] || verdict.deliveryId) : verdict;
        }
        const token = req.headers[TOKEN_HEADER];
        if (!token) return { ok: false, reason: "missing_signature" };
        if (!anyKeyEquals(ctx.keys, token)) return { ok: false, reason: "signature_mismatch" };
        // Stays the same across GitLab's retries of one event.
        return accepted(req.headers["x-gitlab-event-uuid"]);
      },
      sign(body) {
        return { headers: { "X-Gitlab-Token": firstKey(ctx).toString("utf8") }, body };
      },
      providerHeaders(body) {
        const kind = bodyField(body, "object_kind");
        return { "X-Gitlab-Event": (kind && EVENT_HEADER[kind]) ?? "Push Hook", "X-Gitlab-Event-UUID": randomUUID() };
      },
      scrub(event) {
        delete event.headers[TOKEN_HEADER];
      },
    };
  },
});
