import { createHmac } from "node:crypto";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { jira } from "../../../src/plugins/verifiers/jira.js";
import { bodyHmacCases } from "./body-hmac-cases.js";
import { build, request, SECRET } from "./helpers.js";

// A trimmed jira:issue_created (https://developer.atlassian.com/cloud/jira/platform/webhooks/#example-callback-for-an-issue-related-event).
const body = JSON.stringify({
  timestamp: 1525698237764,
  webhookEvent: "jira:issue_created",
  issue: { id: "99291", key: "JRA-20002", fields: { summary: "I feel the need for speed" } },
});
const IDENTIFIER = "1f4b1e2c-8e44-4c1a-9b9c-3d1a3f5f9e10";

describe("jira", () => {
  bodyHmacCases({
    plugin: jira,
    header: "X-Hub-Signature",
    // Atlassian's documented rule (WebSub): "sha256=" + hex HMAC-SHA256 of the raw body.
    signature: (secret, payload) => `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`,
    body,
    headers: { "X-Atlassian-Webhook-Identifier": IDENTIFIER },
    deliveryId: IDENTIFIER,
    malformedValues: [
      createHmac("sha256", "x").update(body).digest("hex"),
      `sha1=${createHmac("sha1", "x").update(body).digest("hex")}`,
      "sha256=",
    ],
  });

  // The same `sha256=<hex>` header GitHub sends: GitHub's own signing library is an independent signer.
  it("accepts what @octokit/webhooks-methods signs, and signs what it verifies", async () => {
    const verifier = build(jira);
    const signature = await octokitSign(SECRET, body);
    expect(verifier.verify(request({ body, headers: { "X-Hub-Signature": signature } })).ok).toBe(true);
    expect(await octokitVerify(SECRET, body, verifier.sign(Buffer.from(body), 0).headers["X-Hub-Signature"] ?? "")).toBe(true);
  });
});
