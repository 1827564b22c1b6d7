import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { sentry } from "../../../src/plugins/verifiers/sentry.js";
import { bodyHmacCases } from "./body-hmac-cases.js";
import { build, NOW } from "./helpers.js";

// A trimmed issue.created (https://docs.sentry.io/organization/integrations/integration-platform/webhooks/issues/).
const body = JSON.stringify({
  action: "created",
  installation: { uuid: "a8e5d37a-696c-4c54-adb5-b3f28d64c7de" },
  data: { issue: { id: "1170820242", title: "Error: Oops", level: "error" } },
  actor: { type: "application", id: "sentry", name: "Sentry" },
});
const REQUEST_ID = "55c1bf7e-7d1f-4c1b-a7a0-6f4de1d7a3a2";

describe("sentry", () => {
  bodyHmacCases({
    plugin: sentry,
    header: "Sentry-Hook-Signature",
    // Sentry's documented rule: hex HMAC-SHA256 of the raw body, keyed with the client secret.
    signature: (secret, payload) => createHmac("sha256", secret).update(payload).digest("hex"),
    body,
    headers: { "Sentry-Hook-Resource": "issue", "Request-ID": REQUEST_ID },
    deliveryId: REQUEST_ID,
    malformedValues: [`sha256=${createHmac("sha256", "x").update(body).digest("hex")}`, "abc", "g".repeat(64)],
  });

  it("gives sign's request Sentry's headers", () => {
    expect(build(sentry).providerHeaders?.(Buffer.from(body), NOW)).toMatchObject({
      "Sentry-Hook-Resource": "issue",
      "Sentry-Hook-Timestamp": String(NOW / 1000),
    });
  });
});
