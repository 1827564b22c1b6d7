import { sign } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { gitea } from "../../../src/plugins/verifiers/gitea.js";
import { build, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

// A trimmed Gitea push payload (https://docs.gitea.com/usage/webhooks#example).
const body = JSON.stringify({
  ref: "refs/heads/develop",
  before: "28e1879d029cb852e4844d9c718537df08844e03",
  after: "bffeb74224043ba2feb48d137756c8a9331c449a",
  compare_url:
    "http://localhost:3000/gitea/webhooks/compare/28e1879d029cb852e4844d9c718537df08844e03...bffeb74224043ba2feb48d137756c8a9331c449a",
  commits: [
    {
      id: "bffeb74224043ba2feb48d137756c8a9331c449a",
      message: "Webhooks Yay!",
      url: "http://localhost:3000/gitea/webhooks/commit/bffeb74224043ba2feb48d137756c8a9331c449a",
    },
  ],
  repository: { id: 140, name: "webhooks", full_name: "gitea/webhooks", private: false },
  pusher: { id: 1, login: "gitea", email: "gitea@fake.local" },
});
const DELIVERY = "f6266f16-1bf3-46a5-9ea4-602e06ead473";

/** Gitea's signature is GitHub's without the `sha256=` prefix, so octokit's sign() computes it. */
async function hexSignature(secret: string, payload: string): Promise<string> {
  return (await sign(secret, payload)).slice("sha256=".length);
}

describe("gitea", async () => {
  const verifier = build(gitea);
  const good = await hexSignature(SECRET, body);

  it.each([
    {
      name: "valid (Gitea)",
      req: request({ body, headers: { "X-Gitea-Signature": good, "X-Gitea-Delivery": DELIVERY } }),
      want: { ok: true, deliveryId: DELIVERY },
    },
    {
      name: "valid (Forgejo)",
      req: request({ body, headers: { "X-Forgejo-Signature": good, "X-Forgejo-Delivery": DELIVERY } }),
      want: { ok: true, deliveryId: DELIVERY },
    },
    { name: "no delivery id", req: request({ body, headers: { "X-Gitea-Signature": good } }), want: { ok: true } },
    { name: "tampered body", req: request({ body: tamper(body), headers: { "X-Gitea-Signature": good } }), want: mismatch },
    { name: "wrong key", req: request({ body, headers: { "X-Gitea-Signature": await hexSignature("nope", body) } }), want: mismatch },
    { name: "missing header", req: request({ body, headers: { "X-Gitea-Delivery": DELIVERY } }), want: missing },
    { name: "GitHub-style prefix", req: request({ body, headers: { "X-Gitea-Signature": `sha256=${good}` } }), want: malformed },
    { name: "wrong length", req: request({ body, headers: { "X-Gitea-Signature": good.slice(0, 40) } }), want: malformed },
    { name: "not hex", req: request({ body, headers: { "X-Gitea-Signature": "g".repeat(64) } }), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    const results = await rotation(gitea, {}, async (s) =>
      request({ body, headers: { "X-Gitea-Signature": await hexSignature(s, body) } }),
    );
    expect(results).toEqual([true, true, false]);
  });

  it("signs what it accepts", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    expect(verifier.sign(Buffer.from(body), 0).headers["X-Gitea-Signature"]).toBe(good);
  });
});
