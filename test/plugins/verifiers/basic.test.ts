import { describe, expect, it } from "vitest";
import { basic } from "../../../src/plugins/verifiers/basic.js";
import { build, eventOf, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, schemaAccepts } from "./helpers.js";

// An Alertmanager notification, trimmed (https://prometheus.io/docs/alerting/latest/configuration/#webhook_config).
const body = JSON.stringify({
  version: "4",
  status: "firing",
  receiver: "switchyard",
  alerts: [{ status: "firing", labels: { alertname: "DiskFull" } }],
});
const USER = "alertmanager";
/** What Alertmanager's `basic_auth` (and curl -u) sends: RFC 7617, written here rather than by the verifier. */
const credential = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;
const req = (authorization: string | undefined, payload = body) => request({ body: payload, headers: { Authorization: authorization } });

describe("basic", () => {
  const verifier = build(basic, { username: USER });

  it.each([
    { name: "valid", req: req(credential(USER, SECRET)), want: { ok: true } },
    { name: "scheme name in any case", req: req(credential(USER, SECRET).replace("Basic", "bAsIc")), want: { ok: true } },
    { name: "password with a colon", req: req(credential(USER, `${SECRET}:`)), want: mismatch },
    { name: "wrong password", req: req(credential(USER, "guess")), want: mismatch },
    { name: "wrong user", req: req(credential("grafana", SECRET)), want: mismatch },
    { name: "both wrong", req: req(credential("grafana", "guess")), want: mismatch },
    { name: "empty password", req: req(credential(USER, "")), want: mismatch },
    { name: "missing header", req: req(undefined), want: missing },
    { name: "bearer instead of basic", req: req(`Bearer ${SECRET}`), want: malformed },
    { name: "not base64", req: req("Basic not*base64!"), want: malformed },
    { name: "no colon", req: req(`Basic ${Buffer.from(USER + SECRET).toString("base64")}`), want: malformed },
    { name: "nothing after Basic", req: req("Basic "), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts a password containing colons", () => {
    const colons = build(basic, { username: USER, secret: "a:b:c" });
    expect(colons.verify(req(credential(USER, "a:b:c")))).toEqual({ ok: true });
  });

  it("does not look at the body: a changed body with the right credential passes (nothing signs it)", () => {
    expect(verifier.verify(req(credential(USER, SECRET), `${body} `)).ok).toBe(true);
  });

  it("accepts old and new password while rotating, not a third", async () => {
    expect(await rotation(basic, { username: USER }, (s) => req(credential(USER, s)))).toEqual([true, true, false]);
  });

  it("signs what it accepts, as curl -u would", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    expect(verifier.sign(Buffer.from(body), 0).headers).toEqual({ Authorization: credential(USER, SECRET) });
  });

  it("removes the Authorization header before the event is stored", () => {
    const r = req(credential(USER, SECRET));
    const event = eventOf(r, JSON.parse(body));
    verifier.scrub?.(event);
    expect(event.headers.authorization).toBeUndefined();
    expect(basic.credentialHeaders).toContain("authorization");
  });

  it("needs a username, without a colon", () => {
    expect(schemaAccepts(basic, { secret: SECRET })).toBe(false);
    expect(() => build(basic, { username: "a:b" })).toThrow(/cannot contain ':'/);
  });
});
