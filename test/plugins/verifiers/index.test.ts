import type { TSchema } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { createAjv } from "../../../src/config/marks.js";
import { findVerifier, verifiers } from "../../../src/plugins/verifiers/index.js";
import type { SigningKeys } from "../../../src/plugins/verifiers/verifier.js";
import { build, fromSigned, NOW } from "./helpers.js";
import { ed25519Pair, p256Pair } from "./keys.js";

const ed = ed25519Pair();
const ec = p256Pair();

/** Options that make each scheme loadable, for the checks every scheme must pass. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  "standard-webhooks": { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  svix: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  resend: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  clerk: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  basic: { username: "alertmanager" },
  hmac: { header: "X-Signature", timestamp_header: "X-Timestamp" },
  discord: { public_key: ed.raw.toString("hex") },
  telnyx: { public_key: ed.raw.toString("base64") },
  sendgrid: { public_key: ec.spki },
  twilio: { url: "https://hooks.example.com/hooks/twilio" },
  square: { url: "https://hooks.example.com/hooks/square" },
  hubspot: { url: "https://hooks.example.com/hooks/hubspot" },
  "aws-sns": { topics: ["arn:aws:sns:eu-west-1:123456789012:alerts"] },
};

/** What `sign --private-key` gives the public-key schemes. */
const KEYS: Record<string, SigningKeys> = {
  discord: { privateKey: ed.privateKey },
  telnyx: { privateKey: ed.privateKey },
  sendgrid: { privateKey: ec.privateKey },
};

describe("the verifier registry", () => {
  it("lists the contract's schemes and issue 17's presets and aliases, in order", () => {
    expect(verifiers.map((v) => v.type)).toEqual([
      "github",
      "gitea",
      "gitlab",
      "bitbucket",
      "stripe",
      "slack",
      "shopify",
      "standard-webhooks",
      "linear",
      "meta",
      "typeform",
      "intercom",
      "vercel",
      "sentry",
      "jira",
      "circleci",
      "pagerduty",
      "svix",
      "resend",
      "clerk",
      "meraki",
      "basic",
      "shared-secret",
      "token",
      "discord",
      "telnyx",
      "sendgrid",
      "aws-sns",
      "twilio",
      "square",
      "zoom",
      "twitch",
      "paddle",
      "tailscale",
      "calendly",
      "hubspot",
      "mailgun",
      "hmac",
      "none",
    ]);
    expect(findVerifier("stripe")?.type).toBe("stripe");
    expect(findVerifier("nope")).toBeUndefined();
  });

  describe.each(verifiers.map((v) => ({ type: v.type, plugin: v })))("$type", ({ type, plugin }) => {
    it("has a strict schema that closes the object and documents every option", () => {
      createAjv().compile(plugin.schema);
      expect(plugin.schema.additionalProperties).toBe(false);
      expect(plugin.description).not.toBe("");
      const properties = plugin.schema.properties as Record<string, TSchema>;
      for (const [name, schema] of Object.entries(properties)) {
        if (name !== "type") expect(schema.description, `${type}.${name}`).toBeTruthy();
      }
      expect(Object.hasOwn(properties, "secret")).toBe(plugin.needsSecret);
    });

    // aws-sns signs only an SNS message and verifies against a fetched certificate: aws-sns.test.ts.
    it.skipIf(type === "aws-sns")("accepts what it signs", async () => {
      const body = Buffer.from(JSON.stringify({ id: "evt_1", hello: "world" }));
      const verifier = build(plugin, OPTIONS[type] ?? {});
      const signed = verifier.sign(body, NOW, { "content-type": "application/json" }, KEYS[type]);
      expect((await verifier.verify(fromSigned(signed))).ok).toBe(true);
    });
  });
});
