import { sign } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { bitbucket } from "../../../src/plugins/verifiers/bitbucket.js";
import { build, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

// A trimmed Bitbucket Cloud repo:push payload.
const body = JSON.stringify({
  push: { changes: [{ new: { type: "branch", name: "main", target: { hash: "709d658dc5b6d6afcd46049c2f332ee3f515a67d" } } }] },
  repository: { type: "repository", full_name: "team/repo", uuid: "{21fa9bf8-b5b2-4891-97ed-d590bad0f871}" },
  actor: { type: "user", display_name: "Emma" },
});
const UUID = "4ecc2ea1-0ed8-4c5c-a0c9-a0e2c9ea9b7b";

describe("bitbucket", async () => {
  const verifier = build(bitbucket);
  // Bitbucket's header has GitHub's `sha256=<hex>` format, so octokit's sign() computes it.
  const good = await sign(SECRET, body);

  it.each([
    {
      name: "valid",
      req: request({ body, headers: { "X-Hub-Signature": good, "X-Request-UUID": UUID } }),
      want: { ok: true, deliveryId: UUID },
    },
    { name: "no request uuid", req: request({ body, headers: { "X-Hub-Signature": good } }), want: { ok: true } },
    { name: "tampered body", req: request({ body: tamper(body), headers: { "X-Hub-Signature": good } }), want: mismatch },
    { name: "wrong key", req: request({ body, headers: { "X-Hub-Signature": await sign("nope", body) } }), want: mismatch },
    { name: "missing header", req: request({ body, headers: { "X-Hub-Signature-256": good } }), want: missing },
    { name: "missing prefix", req: request({ body, headers: { "X-Hub-Signature": good.slice(7) } }), want: malformed },
    { name: "wrong length", req: request({ body, headers: { "X-Hub-Signature": `${good}00` } }), want: malformed },
    { name: "not hex", req: request({ body, headers: { "X-Hub-Signature": `sha256=${"x".repeat(64)}` } }), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    const results = await rotation(bitbucket, {}, async (s) => request({ body, headers: { "X-Hub-Signature": await sign(s, body) } }));
    expect(results).toEqual([true, true, false]);
  });

  it("signs what it accepts", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    expect(verifier.sign(Buffer.from(body), 0).headers["X-Hub-Signature"]).toBe(good);
  });
});
