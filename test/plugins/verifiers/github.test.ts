import { createRequire } from "node:module";
import type { WebhookDefinition } from "@octokit/webhooks-examples";
import { sign, verify } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { github } from "../../../src/plugins/verifiers/github.js";
import { build, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

// The package is a CommonJS JSON file: require() reads it the same way under vitest and plain Node.
const webhooks = createRequire(import.meta.url)("@octokit/webhooks-examples") as WebhookDefinition[];
const push = webhooks.find((d) => d.name === "push")?.examples[0];
if (!push) throw new Error("no push example in @octokit/webhooks-examples");
const body = JSON.stringify(push);
const DELIVERY = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

const headers = (signature: string | undefined) => ({
  "X-GitHub-Event": "push",
  "X-GitHub-Delivery": DELIVERY,
  "X-Hub-Signature-256": signature,
});

describe("github", async () => {
  const good = await sign(SECRET, body);
  const hex = good.slice("sha256=".length);
  const verifier = build(github, { secret: SECRET });

  it.each([
    { name: "valid", req: request({ body, headers: headers(good) }), want: { ok: true, deliveryId: DELIVERY } },
    { name: "tampered body", req: request({ body: tamper(body), headers: headers(good) }), want: mismatch },
    { name: "wrong key", req: request({ body, headers: headers(await sign("another secret", body)) }), want: mismatch },
    { name: "missing header", req: request({ body, headers: headers(undefined) }), want: missing },
    { name: "no sha256= prefix", req: request({ body, headers: headers(hex) }), want: malformed },
    { name: "sha1= prefix", req: request({ body, headers: headers(`sha1=${hex}`) }), want: malformed },
    { name: "truncated hex", req: request({ body, headers: headers(good.slice(0, -2)) }), want: malformed },
    { name: "odd-length hex", req: request({ body, headers: headers(good.slice(0, -1)) }), want: malformed },
    { name: "not hex", req: request({ body, headers: headers(`sha256=${"zz".repeat(32)}`) }), want: malformed },
    { name: "no delivery id", req: request({ body, headers: { "X-Hub-Signature-256": good } }), want: { ok: true } },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(github, {}, async (s) => request({ body, headers: headers(await sign(s, body)) }))).toEqual([true, true, false]);
  });

  it("signs what it and octokit accept", async () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    const signed = verifier.sign(Buffer.from(body), Date.now());
    expect(await verify(SECRET, body, signed.headers["X-Hub-Signature-256"] ?? "")).toBe(true);
  });

  it("answers ping and nothing else", () => {
    expect(verifier.handshake?.({ "x-github-event": "ping" }, {})).toEqual({ status: 200, body: { status: "pong" } });
    expect(verifier.handshake?.({ "x-github-event": "push" }, push)).toBeUndefined();
  });
});
