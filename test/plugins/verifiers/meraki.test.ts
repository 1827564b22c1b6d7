import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { meraki } from "../../../src/plugins/verifiers/meraki.js";
import { build, eventOf, mismatch, missing, notJson, request, roundTrip, schemaAccepts } from "./helpers.js";

const SECRET = "meraki-shared-secret";
// The fixture is Meraki's documented sample alert.
const alert = {
  ...JSON.parse(readFileSync(resolve(import.meta.dirname, "../../fixtures/meraki-alert.json"), "utf8")),
  sharedSecret: SECRET,
};
const req = (body: unknown) =>
  request({ body: typeof body === "string" ? body : JSON.stringify(body), headers: { "Content-Type": "application/json" } });

describe("meraki", () => {
  const verifier = build(meraki, { secret: SECRET });

  it.each([
    { name: "valid alert", req: req(alert), want: { ok: true, ...(alert.alertId ? { deliveryId: alert.alertId } : {}) } },
    { name: "wrong secret", req: req({ ...alert, sharedSecret: "guess" }), want: mismatch },
    { name: "no sharedSecret field", req: req({ ...alert, sharedSecret: undefined }), want: missing },
    { name: "secret in another field", req: req({ ...alert, sharedSecret: undefined, secret: SECRET }), want: missing },
    { name: "not JSON", req: req("sharedSecret=meraki-shared-secret"), want: notJson },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("takes no field option: the field is Meraki's", () => {
    expect(schemaAccepts(meraki, { secret: SECRET, field: "other" })).toBe(false);
  });

  it("removes sharedSecret before the event is stored", () => {
    const r = req(alert);
    const event = eventOf(r, JSON.parse(r.rawBody.toString()));
    verifier.scrub?.(event);
    expect(event.body).not.toHaveProperty("sharedSecret");
    expect(event.body).toHaveProperty("alertType", alert.alertType);
  });

  it("signs by putting the secret into the body", () => {
    const { sharedSecret: _, ...unsigned } = alert;
    expect(roundTrip(verifier, JSON.stringify(unsigned)).ok).toBe(true);
  });
});
