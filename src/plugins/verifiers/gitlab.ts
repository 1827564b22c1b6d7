import { randomUUID } from "node:crypto";
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
 * GitLab sends the secret token itself in `X-Gitlab-Token` (no signature), so it is compared
 * in constant time and then scrubbed: it is a credential and must not reach targets.
 * https://docs.gitlab.com/user/project/integrations/webhooks/#create-a-webhook
 */
export const gitlab = defineVerifier({
  type: "gitlab",
  description: "`X-Gitlab-Token` equals the secret (the token is removed from the stored event)",
  deliveryId: "`X-Gitlab-Event-UUID`",
  credentialHeaders: [TOKEN_HEADER],
  create: (_options, ctx) => ({
    verify(req) {
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
  }),
});
