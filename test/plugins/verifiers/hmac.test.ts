import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { hmac, MAX_SIGNATURES } from "../../../src/plugins/verifiers/hmac.js";
import {
  build,
  malformed,
  mismatch,
  missing,
  NOW,
  NOW_S,
  outOfTolerance,
  request,
  rotation,
  roundTrip,
  SECRET,
  schemaAccepts,
  tamper,
} from "./helpers.js";

const body = '{"event":"meeting.started","payload":{"object":{"id":"85148217364","topic":"Standup"}},"event_ts":1764417600000}';

/** The expected signature, computed independently with node:crypto. */
const mac = (algorithm: string, text: string, encoding: "hex" | "base64" = "hex", secret = SECRET) =>
  createHmac(algorithm, secret).update(text).digest(encoding);

describe("hmac", () => {
  describe("defaults: sha256, hex, no prefix, over {body}", () => {
    const verifier = build(hmac, { header: "X-Signature", id_header: "X-Request-Id" });
    const good = mac("sha256", body);
    it.each([
      { name: "valid", headers: { "X-Signature": good, "X-Request-Id": "req-1" }, text: body, want: { ok: true, deliveryId: "req-1" } },
      { name: "no id header", headers: { "X-Signature": good }, text: body, want: { ok: true } },
      { name: "upper-case hex", headers: { "X-Signature": good.toUpperCase() }, text: body, want: { ok: true } },
      { name: "tampered body", headers: { "X-Signature": good }, text: tamper(body), want: mismatch },
      { name: "wrong key", headers: { "X-Signature": mac("sha256", body, "hex", "nope") }, text: body, want: mismatch },
      { name: "missing header", headers: {}, text: body, want: missing },
      { name: "sha1 length", headers: { "X-Signature": mac("sha1", body) }, text: body, want: malformed },
      { name: "base64 instead of hex", headers: { "X-Signature": mac("sha256", body, "base64") }, text: body, want: malformed },
      { name: "unexpected prefix", headers: { "X-Signature": `sha256=${good}` }, text: body, want: malformed },
    ])("$name", ({ headers, text, want }) => {
      expect(verifier.verify(request({ body: text, headers }))).toEqual(want);
    });

    it("signs what it accepts", () => {
      expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({ "X-Signature": good });
      expect(roundTrip(verifier, body)).toEqual({ ok: true });
    });

    it("accepts old and new secret while rotating, not a third", async () => {
      const results = await rotation(hmac, { header: "X-Signature" }, (s) =>
        request({ body, headers: { "X-Signature": mac("sha256", body, "hex", s) } }),
      );
      expect(results).toEqual([true, true, false]);
    });
  });

  it.each([
    { algorithm: "sha1", encoding: "base64", prefix: "sha1=" },
    { algorithm: "sha512", encoding: "hex", prefix: "" },
    { algorithm: "sha512", encoding: "base64", prefix: "v1:" },
  ] as const)("$algorithm, $encoding, prefix '$prefix'", ({ algorithm, encoding, prefix }) => {
    const verifier = build(hmac, { header: "X-Sig", algorithm, encoding, prefix });
    const good = prefix + mac(algorithm, body, encoding);
    expect(verifier.verify(request({ body, headers: { "X-Sig": good } }))).toEqual({ ok: true });
    expect(verifier.verify(request({ body: tamper(body), headers: { "X-Sig": good } }))).toEqual(mismatch);
    expect(verifier.verify(request({ body, headers: { "X-Sig": mac(algorithm, body, encoding) } }))).toEqual(
      prefix ? malformed : { ok: true },
    );
    expect(verifier.verify(request({ body, headers: { "X-Sig": prefix + mac("sha256", body, encoding) } }))).toEqual(malformed);
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  describe("timestamped: Zoom's v0:{timestamp}:{body}", () => {
    const zoom = { header: "x-zm-signature", prefix: "v0=", timestamp_header: "x-zm-request-timestamp", signed: "v0:{timestamp}:{body}" };
    const verifier = build(hmac, zoom);
    const good = `v0=${mac("sha256", `v0:${NOW_S}:${body}`)}`;
    const req = (signature: string | undefined, ts: string | undefined, at = NOW, text = body) =>
      request({ body: text, headers: { "x-zm-signature": signature, "x-zm-request-timestamp": ts }, receivedAt: at });

    it.each([
      { name: "valid", req: req(good, String(NOW_S)), want: { ok: true } },
      { name: "tampered body", req: req(good, String(NOW_S), NOW, tamper(body)), want: mismatch },
      { name: "tampered timestamp", req: req(good, String(NOW_S - 1)), want: mismatch },
      { name: "missing timestamp", req: req(good, undefined), want: missing },
      { name: "timestamp in ms", req: req(good, String(NOW)), want: malformed },
      { name: "missing signature", req: req(undefined, String(NOW_S)), want: missing },
      { name: "5 min old", req: req(good, String(NOW_S), NOW + 300_000), want: { ok: true } },
      { name: "5 min and 1 ms old", req: req(good, String(NOW_S), NOW + 300_001), want: outOfTolerance },
      { name: "5 min ahead", req: req(good, String(NOW_S), NOW - 300_000), want: { ok: true } },
      { name: "5 min and 1 ms ahead", req: req(good, String(NOW_S), NOW - 300_001), want: outOfTolerance },
    ])("$name", ({ req, want }) => {
      expect(verifier.verify(req)).toEqual(want);
    });

    it("takes a custom tolerance", () => {
      const strict = build(hmac, { ...zoom, tolerance: "10s" });
      expect(strict.verify(req(good, String(NOW_S), NOW + 10_000))).toEqual({ ok: true });
      expect(strict.verify(req(good, String(NOW_S), NOW + 10_001))).toEqual(outOfTolerance);
    });

    it("signs what it accepts", () => {
      expect(verifier.sign(Buffer.from(body), NOW).headers).toEqual({ "x-zm-signature": good, "x-zm-request-timestamp": String(NOW_S) });
      expect(roundTrip(verifier, body)).toEqual({ ok: true });
    });
  });

  it("signs {timestamp}.{body} by default when timestamp_header is set", () => {
    const verifier = build(hmac, { header: "X-Sig", timestamp_header: "X-Ts" });
    const good = mac("sha256", `${NOW_S}.${body}`);
    expect(verifier.verify(request({ body, headers: { "X-Sig": good, "X-Ts": String(NOW_S) } }))).toEqual({ ok: true });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  it("signs other headers named in the template, an absent one as empty", () => {
    const verifier = build(hmac, { header: "X-Sig", signed: "{header:X-Delivery}|{header:X-Event}|{body}" });
    const good = mac("sha256", `d-1|push|${body}`);
    expect(verifier.verify(request({ body, headers: { "X-Sig": good, "X-Delivery": "d-1", "X-Event": "push" } }))).toEqual({ ok: true });
    expect(verifier.verify(request({ body, headers: { "X-Sig": good, "X-Delivery": "d-2", "X-Event": "push" } }))).toEqual(mismatch);
    const absent = mac("sha256", `||${body}`);
    expect(verifier.verify(request({ body, headers: { "X-Sig": absent } }))).toEqual({ ok: true });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  it.each([
    { name: "unknown placeholder", options: { signed: "{bogus}.{body}" }, error: "signed: unknown placeholder {bogus}" },
    { name: "empty header placeholder", options: { signed: "{header:}{body}" }, error: "signed: unknown placeholder {header:}" },
    { name: "unbalanced brace", options: { signed: "{body" }, error: "signed: unbalanced brace" },
    { name: "no {body}", options: { signed: "{header:X-Id}" }, error: "must include {body}" },
    {
      name: "{timestamp} without timestamp_header",
      options: { signed: "{timestamp}.{body}" },
      error: "{timestamp} needs timestamp_header",
    },
    { name: "tolerance without timestamp_header", options: { tolerance: "1m" }, error: "tolerance needs timestamp_header" },
  ])("refuses at load: $name", ({ options, error }) => {
    expect(() => build(hmac, { header: "X-Sig", ...options })).toThrow(error);
  });

  it("refuses bad options in the schema", () => {
    expect(schemaAccepts(hmac, { secret: SECRET, header: "X-Sig", algorithm: "md5" })).toBe(false);
    expect(schemaAccepts(hmac, { secret: SECRET, header: "X-Sig", encoding: "base32" })).toBe(false);
    expect(schemaAccepts(hmac, { secret: SECRET, header: "X-Sig", tolerance: "soon" })).toBe(false);
    expect(schemaAccepts(hmac, { secret: SECRET, header: "X-Sig", algorithm: "sha512", encoding: "base64", prefix: "" })).toBe(true);
  });
});

describe("hmac: several signatures in one value (adnanh/webhook's sha1=<a>,sha1=<b>)", () => {
  const verifier = build(hmac, { header: "X-Hub-Signature", algorithm: "sha1", prefix: "sha1=", separator: "," });
  const good = mac("sha1", body);
  const other = mac("sha1", body, "hex", "an old secret");
  it.each([
    { name: "the only one", value: `sha1=${good}`, want: { ok: true } },
    { name: "second of two", value: `sha1=${other},sha1=${good}`, want: { ok: true } },
    { name: "first of two, joined with ', '", value: `sha1=${good}, sha1=${other}`, want: { ok: true } },
    { name: "bare, without the prefix", value: good, want: { ok: true } },
    { name: "none matches", value: `sha1=${other},sha1=${other}`, want: mismatch },
    { name: "nothing well-formed", value: "sha1=zz,sha1=", want: malformed },
    {
      name: `more than ${MAX_SIGNATURES}`,
      value: [...Array(MAX_SIGNATURES).fill(`sha1=${other}`), `sha1=${good}`].join(","),
      want: malformed,
    },
  ])("$name", ({ value, want }) => {
    expect(verifier.verify(request({ body, headers: { "X-Hub-Signature": value } }))).toEqual(want);
  });

  it("without separator a list is one malformed signature", () => {
    const single = build(hmac, { header: "X-Hub-Signature", algorithm: "sha1", prefix: "sha1=" });
    expect(single.verify(request({ body, headers: { "X-Hub-Signature": `sha1=${good},sha1=${other}` } }))).toEqual(malformed);
  });
});

describe("hmac: the signature in a query parameter", () => {
  const verifier = build(hmac, { query: "sig", algorithm: "sha512" });
  it("accepts the right one, refuses others, signs into the query", () => {
    expect(verifier.verify(request({ body, query: { sig: mac("sha512", body) } }))).toEqual({ ok: true });
    expect(verifier.verify(request({ body: tamper(body), query: { sig: mac("sha512", body) } }))).toEqual(mismatch);
    expect(verifier.verify(request({ body, headers: { sig: mac("sha512", body) } }))).toEqual(missing);
    expect(verifier.sign(Buffer.from(body), NOW)).toMatchObject({ headers: {}, query: { sig: mac("sha512", body) } });
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  it("needs exactly one of header and query", () => {
    expect(() => build(hmac, { query: "sig", header: "X-Sig" })).toThrow(/header or query/);
    expect(() => build(hmac, {})).toThrow(/header or query/);
  });
});
