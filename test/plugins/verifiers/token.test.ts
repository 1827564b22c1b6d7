import { describe, expect, it } from "vitest";
import { token } from "../../../src/plugins/verifiers/token.js";
import type { Verdict } from "../../../src/plugins/verifiers/verifier.js";
import { build, eventOf, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, schemaAccepts } from "./helpers.js";

const body = '{"status":"firing"}';

describe("token", () => {
  describe("default: Authorization: Bearer <secret>", () => {
    const verifier = build(token);
    it.each([
      { name: "valid", headers: { Authorization: `Bearer ${SECRET}` }, want: { ok: true } },
      { name: "scheme name in lower case", headers: { Authorization: `bearer ${SECRET}` }, want: { ok: true } },
      { name: "wrong token", headers: { Authorization: "Bearer guess" }, want: mismatch },
      { name: "token with a trailing space", headers: { Authorization: `Bearer ${SECRET} ` }, want: mismatch },
      { name: "bare secret, no scheme", headers: { Authorization: SECRET }, want: malformed },
      { name: "Basic scheme", headers: { Authorization: `Basic ${Buffer.from(`u:${SECRET}`).toString("base64")}` }, want: malformed },
      { name: "missing header", headers: {}, want: missing },
      { name: "secret in another header", headers: { "X-Token": SECRET }, want: missing },
    ])("$name", ({ headers, want }) => {
      expect(verifier.verify(request({ body, headers }))).toEqual(want);
    });

    it("signs, and scrubs the Authorization header", () => {
      expect(verifier.sign(Buffer.from(body), 0).headers).toEqual({ Authorization: `Bearer ${SECRET}` });
      expect(roundTrip(verifier, body)).toEqual({ ok: true });
      const event = eventOf(request({ body, headers: { Authorization: `Bearer ${SECRET}`, "X-Other": "1" } }), {});
      verifier.scrub?.(event);
      expect(event.headers).toEqual({ "x-other": "1" });
    });

    it("accepts old and new secret while rotating, not a third", async () => {
      expect(await rotation(token, {}, (s) => request({ body, headers: { Authorization: `Bearer ${s}` } }))).toEqual([true, true, false]);
    });
  });

  describe("header:", () => {
    const verifier = build(token, { header: "X-Webhook-Token" });
    it.each([
      { name: "valid", headers: { "X-Webhook-Token": SECRET }, want: { ok: true } },
      { name: "Bearer prefix is not the exact secret", headers: { "X-Webhook-Token": `Bearer ${SECRET}` }, want: mismatch },
      { name: "wrong token", headers: { "X-Webhook-Token": "guess" }, want: mismatch },
      { name: "missing header", headers: { Authorization: `Bearer ${SECRET}` }, want: missing },
    ])("$name", ({ headers, want }) => {
      expect(verifier.verify(request({ body, headers }))).toEqual(want);
    });

    it("signs, and scrubs that header", () => {
      expect(verifier.sign(Buffer.from(body), 0).headers).toEqual({ "X-Webhook-Token": SECRET });
      expect(roundTrip(verifier, body)).toEqual({ ok: true });
      const event = eventOf(request({ body, headers: { "X-Webhook-Token": SECRET, Authorization: "Basic x" } }), {});
      verifier.scrub?.(event);
      expect(event.headers).toEqual({ authorization: "Basic x" });
    });

    it("accepts old and new secret while rotating, not a third", async () => {
      expect(await rotation(token, { header: "X-Webhook-Token" }, (s) => request({ body, headers: { "X-Webhook-Token": s } }))).toEqual([
        true,
        true,
        false,
      ]);
    });
  });

  describe("query:", () => {
    const verifier = build(token, { query: "token" });
    it.each<{ name: string; query: Record<string, string>; want: Verdict }>([
      { name: "valid", query: { token: SECRET, other: "1" }, want: { ok: true } },
      { name: "wrong token", query: { token: "guess" }, want: mismatch },
      { name: "missing parameter", query: { other: SECRET }, want: missing },
      { name: "empty parameter", query: { token: "" }, want: missing },
    ])("$name", ({ query, want }) => {
      expect(verifier.verify(request({ body, query }))).toEqual(want);
    });

    it("ignores a header of the same name", () => {
      expect(verifier.verify(request({ body, headers: { token: SECRET } }))).toEqual(missing);
    });

    it("signs into the query, and scrubs the parameter", () => {
      const signed = verifier.sign(Buffer.from(body), 0);
      expect(signed).toMatchObject({ headers: {}, query: { token: SECRET } });
      expect(roundTrip(verifier, body)).toEqual({ ok: true });
      const event = eventOf(request({ body, query: { token: SECRET, other: "1" } }), {});
      verifier.scrub?.(event);
      expect(event.query).toEqual({ other: "1" });
    });

    it("accepts old and new secret while rotating, not a third", async () => {
      expect(await rotation(token, { query: "token" }, (s) => request({ body, query: { token: s } }))).toEqual([true, true, false]);
    });
  });

  it("refuses header and query together at load", () => {
    expect(() => build(token, { header: "X-Token", query: "token" })).toThrow("token: give header or query, not both");
  });

  it("refuses a header name that is not one", () => {
    expect(schemaAccepts(token, { secret: SECRET, header: "X Token:" })).toBe(false);
    expect(schemaAccepts(token, { secret: SECRET, query: "" })).toBe(false);
  });
});
