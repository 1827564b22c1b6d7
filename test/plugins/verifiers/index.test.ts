import type { TSchema } from "@sinclair/typebox";
import { describe, expect, it } from "vitest";
import { createAjv } from "../../../src/config/marks.js";
import { findVerifier, verifiers } from "../../../src/plugins/verifiers/index.js";
import { build, roundTrip } from "./helpers.js";

/** Options that make each scheme loadable, for the checks every scheme must pass. */
const OPTIONS: Record<string, Record<string, unknown>> = {
  "standard-webhooks": { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  svix: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  resend: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  clerk: { secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" },
  basic: { username: "alertmanager" },
  hmac: { header: "X-Signature", timestamp_header: "X-Timestamp" },
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

    it("accepts what it signs", () => {
      const body = JSON.stringify({ id: "evt_1", hello: "world" });
      expect(roundTrip(build(plugin, OPTIONS[type] ?? {}), body).ok).toBe(true);
    });
  });
});
