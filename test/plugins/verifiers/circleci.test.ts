import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { circleci } from "../../../src/plugins/verifiers/circleci.js";
import { bodyHmacCases } from "./body-hmac-cases.js";
import { build, mismatch, request, SECRET } from "./helpers.js";

// A trimmed workflow-completed (https://circleci.com/docs/guides/integration/outbound-webhooks-reference/).
const body = JSON.stringify({
  type: "workflow-completed",
  id: "3888f21b-eaa7-38e3-8f3d-75a63bba8895",
  happened_at: "2021-09-01T22:49:34.317Z",
  workflow: { id: "fda08377-fe7e-46b1-8992-3a7aaecac9c3", name: "build-test-deploy", status: "success" },
});
const hex = (secret: string) => createHmac("sha256", secret).update(body).digest("hex");

describe("circleci", () => {
  bodyHmacCases({
    plugin: circleci,
    header: "circleci-signature",
    // CircleCI's documented rule: "v1=" + hex HMAC-SHA256 of the raw body, in a comma-separated list.
    signature: (secret, payload) => `v1=${createHmac("sha256", secret).update(payload).digest("hex")}`,
    body,
    headers: { "Circleci-Event-Type": "workflow-completed" },
    deliveryId: "3888f21b-eaa7-38e3-8f3d-75a63bba8895",
    malformedValues: [hex("x"), `v2=${hex("x")}`, "v1=zz", `sha256=${hex("x")}`],
  });

  const verifier = build(circleci);
  const req = (signature: string) => request({ body, headers: { "circleci-signature": signature } });

  it("reads the v1 entry of a list with other versions", () => {
    expect(verifier.verify(req(`v2=${"ab".repeat(32)},v1=${hex(SECRET)}`)).ok).toBe(true);
  });
  it("refuses a list whose v1 entries are all wrong", () => {
    expect(verifier.verify(req(`v1=${hex("a")},v1=${hex("b")}`))).toEqual(mismatch);
  });
});
