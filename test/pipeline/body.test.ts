import { describe, expect, it } from "vitest";
import { parseBody } from "../../src/pipeline/body.js";

describe("parseBody", () => {
  it.each([
    ["JSON by content type", '{"a":1}', "application/json; charset=utf-8", { ok: true, value: { a: 1 }, json: true }],
    ["vendor +json", "[1,2]", "application/vnd.github+json", { ok: true, value: [1, 2], json: true }],
    ["JSON without a content type", ' {"a":1}', undefined, { ok: true, value: { a: 1 }, json: true }],
    ["broken JSON declared as JSON", '{"a":', "application/json", { ok: false, reason: "body_not_json" }],
    ["broken JSON-looking text without a content type stays text", '{"a":', undefined, { ok: true, value: '{"a":', json: false }],
    [
      "form fields, repeated ones as a list",
      "a=1&b=x+y&a=2",
      "application/x-www-form-urlencoded",
      { ok: true, value: { a: ["1", "2"], b: "x y" }, json: false },
    ],
    ["plain text", "hello", "text/plain", { ok: true, value: "hello", json: false }],
  ])("%s", (_name, raw, contentType, expected) => {
    expect(parseBody(Buffer.from(raw), contentType)).toEqual(expected);
  });

  it("keeps invalid UTF-8 as text with replacement characters", () => {
    const parsed = parseBody(Buffer.from([0x68, 0xff, 0x69]), "text/plain");
    expect(parsed).toEqual({ ok: true, value: "h\uFFFDi", json: false });
  });
});
