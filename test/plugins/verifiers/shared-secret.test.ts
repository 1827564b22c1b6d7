import { describe, expect, it } from "vitest";
import { sharedSecret } from "../../../src/plugins/verifiers/shared-secret.js";
import { build, eventOf, mismatch, missing, notJson, request, rotation, roundTrip } from "./helpers.js";

const SECRET = "meraki-shared-secret";
// The sample alert from Meraki's docs (https://developer.cisco.com/meraki/webhooks/introduction/#alert-payload).
const alert = {
  version: "0.1",
  sharedSecret: SECRET,
  sentAt: "2021-10-07T08:38:40.522804Z",
  organizationId: "2930418",
  organizationName: "My organization",
  organizationUrl: "https://dashboard.meraki.com/o/VjjsAd/manage/organization/overview",
  networkId: "N_24329156",
  networkName: "Main Office",
  networkUrl: "https://n1.meraki.com//n//manage/nodes/list",
  networkTags: [],
  deviceSerial: "Q234-ABCD-5678",
  deviceMac: "00:11:22:33:44:55",
  deviceName: "My access point",
  deviceUrl: "https://n1.meraki.com//n//manage/nodes/new_list/000000000000",
  deviceTags: ["tag1", "tag2"],
  deviceModel: "MR",
  alertId: "0000000000000000",
  alertType: "APs came up",
  alertTypeId: "started_reporting",
  alertLevel: "informational",
  occurredAt: "2018-02-11T00:00:00.123450Z",
  alertData: {},
};
const req = (body: unknown) =>
  request({ body: typeof body === "string" ? body : JSON.stringify(body), headers: { "Content-Type": "application/json" } });

describe("shared-secret", () => {
  const verifier = build(sharedSecret, { secret: SECRET });

  it.each([
    { name: "valid Meraki alert", req: req(alert), want: { ok: true, deliveryId: "0000000000000000" } },
    { name: "wrong secret", req: req({ ...alert, sharedSecret: "guess" }), want: mismatch },
    { name: "secret as a prefix", req: req({ ...alert, sharedSecret: SECRET.slice(0, 5) }), want: mismatch },
    { name: "no secret field", req: req({ ...alert, sharedSecret: undefined }), want: missing },
    { name: "empty secret field", req: req({ ...alert, sharedSecret: "" }), want: missing },
    { name: "secret field not a string", req: req({ ...alert, sharedSecret: 42 }), want: missing },
    { name: "secret nested, not top-level", req: req({ alertData: { sharedSecret: SECRET } }), want: missing },
    { name: "JSON array", req: req([alert]), want: missing },
    { name: "not JSON", req: req("sharedSecret=meraki-shared-secret"), want: notJson },
    { name: "empty body", req: req(""), want: notJson },
    { name: "empty alertId", req: req({ ...alert, alertId: "" }), want: { ok: true } },
    { name: "numeric alertId", req: req({ ...alert, alertId: 7 }), want: { ok: true } },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("reads another field when told to", () => {
    const custom = build(sharedSecret, { secret: SECRET, field: "token" });
    expect(custom.verify(req({ token: SECRET }))).toEqual({ ok: true });
    expect(custom.verify(req(alert))).toEqual(missing);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(sharedSecret, {}, (s) => req({ ...alert, sharedSecret: s }))).toEqual([true, true, false]);
  });

  it("signs by setting the field, which it then accepts", () => {
    const { sharedSecret: _, ...unsigned } = alert;
    const signed = verifier.sign(Buffer.from(JSON.stringify(unsigned)), 0);
    expect(JSON.parse(signed.body.toString())).toEqual({ ...unsigned, sharedSecret: SECRET });
    expect(roundTrip(verifier, JSON.stringify(unsigned))).toEqual({ ok: true, deliveryId: "0000000000000000" });
    expect(() => verifier.sign(Buffer.from("[1,2]"), 0)).toThrow(/JSON object/);
  });

  it("scrubs the secret from the stored event, and rewrites the stored bytes without it", () => {
    const event = eventOf(req(alert), structuredClone(alert));
    verifier.scrub?.(event);
    expect(event.body).not.toHaveProperty("sharedSecret");
    expect(event.body).toMatchObject({ alertId: "0000000000000000", deviceName: "My access point" });
    expect(event.rawBody.toString("utf8")).not.toContain(SECRET);
    expect(JSON.parse(event.rawBody.toString("utf8"))).toEqual(event.body);
  });
});
