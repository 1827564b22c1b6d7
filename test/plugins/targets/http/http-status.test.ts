import { describe, expect, it } from "vitest";
import {
  classifyHttpResponse,
  describeRequestError,
  parseRetryAfter,
  stripUserinfo,
} from "../../../../src/plugins/targets/http/http-status.js";

const now = Date.parse("2026-11-29T12:00:00.000Z");

describe("classifyHttpResponse", () => {
  it.each([
    [200, undefined, { kind: "delivered", detail: "HTTP 200" }],
    [202, undefined, { kind: "delivered", detail: "HTTP 202" }],
    [204, "120", { kind: "delivered", detail: "HTTP 204" }],
    [408, undefined, { kind: "retry", error: "HTTP 408 Request Timeout" }],
    [425, undefined, { kind: "retry", error: "HTTP 425 Too Early" }],
    [429, undefined, { kind: "retry", error: "HTTP 429 Too Many Requests" }],
    [429, "30", { kind: "retry", error: "HTTP 429 Too Many Requests", retryAfterMs: 30_000 }],
    [503, "Sun, 29 Nov 2026 12:02:00 GMT", { kind: "retry", error: "HTTP 503 Service Unavailable", retryAfterMs: 120_000 }],
    [503, "soon", { kind: "retry", error: "HTTP 503 Service Unavailable" }],
    [500, undefined, { kind: "retry", error: "HTTP 500 Internal Server Error" }],
    [500, "30", { kind: "retry", error: "HTTP 500 Internal Server Error" }], // Retry-After means nothing on a 500
    [502, undefined, { kind: "retry", error: "HTTP 502 Bad Gateway" }],
    [599, undefined, { kind: "retry", error: "HTTP 599" }],
    [400, undefined, { kind: "fail", error: "HTTP 400 Bad Request" }],
    [401, undefined, { kind: "fail", error: "HTTP 401 Unauthorized" }],
    [404, undefined, { kind: "fail", error: "HTTP 404 Not Found" }],
    [410, undefined, { kind: "fail", error: "HTTP 410 Gone" }],
    [422, undefined, { kind: "fail", error: "HTTP 422 Unprocessable Entity" }],
  ])("%i (Retry-After %s)", (status, retryAfter, expected) => {
    expect(classifyHttpResponse(status, retryAfter, now)).toEqual(expected);
  });

  it.each([301, 302, 303, 307, 308])("%i fails and says redirects are not followed", (status) => {
    const o = classifyHttpResponse(status, undefined, now);
    expect(o.kind).toBe("fail");
    expect(o.kind === "fail" && o.error).toMatch(/redirects are not followed/);
  });

  it.each([0, 99, 600, 999])("an impossible status %i is a permanent failure", (status) => {
    expect(classifyHttpResponse(status, undefined, now).kind).toBe("fail");
  });
});

describe("parseRetryAfter", () => {
  it.each([
    ["120", 120_000],
    [" 5 ", 5_000],
    ["0", 0],
    ["Sun, 29 Nov 2026 12:00:10 GMT", 10_000], // IMF-fixdate
    ["Sunday, 29-Nov-26 12:01:00 GMT", 60_000], // RFC 850
    ["Sun Nov 29 12:00:30 2026", 30_000], // asctime (read as local time only if TZ is not UTC)
    [undefined, undefined],
    ["", undefined],
    ["-5", undefined],
    ["1.5", undefined],
    ["soon", undefined],
    ["Sat, 28 Nov 2026 12:00:00 GMT", undefined], // in the past
    ["Sun, 29 Nov 2026 12:00:00 GMT", undefined], // exactly now
    ["99999999999999999999", undefined],
  ])("%j -> %s", (header, expected) => {
    if (header?.startsWith("Sun Nov") && new Date(now).getTimezoneOffset() !== 0) return;
    expect(parseRetryAfter(header, now)).toBe(expected);
  });
});

describe("error texts", () => {
  it("strips credentials from every URL in a text", () => {
    expect(stripUserinfo("GET https://bob:s3cret@example.com/x and http://tok@h/y failed")).toBe(
      "GET https://example.com/x and http://h/y failed",
    );
  });

  it.each([
    [{ code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:9" }, "connection refused by example.com:8443"],
    [{ code: "UND_ERR_SOCKET", cause: { code: "ECONNRESET" } }, "connection reset by example.com:8443"],
    [{ code: "ENOTFOUND" }, "cannot resolve host example.com:8443"],
    [{ code: "UND_ERR_HEADERS_TIMEOUT" }, "example.com:8443 accepted the connection but sent no answer in time"],
    [
      new Error("fetch https://u:p@example.com:8443/ went wrong"),
      "request to example.com:8443 failed: fetch https://example.com:8443/ went wrong",
    ],
  ])("%j -> %s", (err, text) => {
    expect(describeRequestError(err, new URL("https://u:p@example.com:8443/hook"))).toBe(text);
  });
});
