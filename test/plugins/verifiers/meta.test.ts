import { createHmac } from "node:crypto";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import { describe, expect, it } from "vitest";
import { meta } from "../../../src/plugins/verifiers/meta.js";
import { bodyHmacCases } from "./body-hmac-cases.js";
import { build, NOW, request, SECRET, schemaAccepts } from "./helpers.js";

// A WhatsApp Business message notification, trimmed (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples).
const body = JSON.stringify({
  object: "whatsapp_business_account",
  entry: [
    {
      id: "102290129340398",
      changes: [
        { field: "messages", value: { messaging_product: "whatsapp", messages: [{ id: "wamid.ID", type: "text", text: { body: "hi" } }] } },
      ],
    },
  ],
});
const TOKEN = "meatyhamhock";

/** A GET as Meta sends it when a callback URL is saved. */
const get = (query: Record<string, string>) => ({
  method: "GET",
  path: "/hooks/meta",
  headers: {},
  query,
  rawBody: Buffer.alloc(0),
  receivedAt: NOW,
});

describe("meta", () => {
  bodyHmacCases({
    plugin: meta,
    header: "X-Hub-Signature-256",
    // Meta's documented rule: "sha256=" + hex HMAC-SHA256 of the raw body, keyed with the app secret.
    signature: (secret, payload) => `sha256=${createHmac("sha256", secret).update(payload).digest("hex")}`,
    body,
    malformedValues: [createHmac("sha256", "x").update(body).digest("hex"), `sha1=${createHmac("sha1", "x").update(body).digest("hex")}`],
  });

  describe("the GET verification request", () => {
    const verifier = build(meta, { verify_token: TOKEN });
    // Meta's documented example: hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock
    const subscribe = { "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": TOKEN };

    it("echoes the challenge when the token matches", () => {
      expect(verifier.answerGet?.(get(subscribe))).toEqual({ kind: "answer", answer: { status: 200, body: "1158201444" } });
    });
    it("refuses a wrong token", () => {
      expect(verifier.answerGet?.(get({ ...subscribe, "hub.verify_token": "meatyhamhoc" }))).toEqual({
        kind: "refused",
        reason: "signature_mismatch",
      });
    });
    it("refuses a missing token", () => {
      const { "hub.verify_token": _, ...noToken } = subscribe;
      expect(verifier.answerGet?.(get(noToken))).toEqual({ kind: "refused", reason: "missing_signature" });
    });
    it("refuses every handshake when no verify_token is configured", () => {
      expect(build(meta).answerGet?.(get(subscribe))).toEqual({ kind: "refused", reason: "missing_signature" });
    });
    it("leaves any other GET alone (it stays 405)", () => {
      expect(verifier.answerGet?.(get({}))).toBeUndefined();
      expect(verifier.answerGet?.(get({ ...subscribe, "hub.mode": "unsubscribe" }))).toBeUndefined();
    });
    it("takes verify_token as a string only", () => {
      expect(schemaAccepts(meta, { secret: "s", verify_token: "" })).toBe(false);
      expect(schemaAccepts(meta, { secret: "s", verify_token: TOKEN })).toBe(true);
    });
  });

  // The same `sha256=<hex>` header GitHub sends: GitHub's own signing library is an independent signer.
  it("accepts what @octokit/webhooks-methods signs, and signs what it verifies", async () => {
    const verifier = build(meta);
    const signature = await octokitSign(SECRET, body);
    expect(verifier.verify(request({ body, headers: { "X-Hub-Signature-256": signature } })).ok).toBe(true);
    expect(await octokitVerify(SECRET, body, verifier.sign(Buffer.from(body), 0).headers["X-Hub-Signature-256"] ?? "")).toBe(true);
  });
});
