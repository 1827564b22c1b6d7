import { describe, expect, it } from "vitest";
import { parseBody } from "../../src/pipeline/body.js";
import { MAX_PARTS, parseMultipart } from "../../src/pipeline/multipart.js";

const B = "XyZ-boundary-42";
const TYPE = `multipart/form-data; boundary=${B}`;

function part(headers: string, content: string | Buffer): Buffer {
  return Buffer.concat([
    Buffer.from(`--${B}\r\n${headers}\r\n\r\n`),
    Buffer.isBuffer(content) ? content : Buffer.from(content),
    Buffer.from("\r\n"),
  ]);
}
const field = (name: string, value: string, type?: string) =>
  part(`Content-Disposition: form-data; name="${name}"${type ? `\r\nContent-Type: ${type}` : ""}`, value);
const file = (name: string, filename: string, type: string, bytes: Buffer) =>
  part(`Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: ${type}`, bytes);
const body = (...parts: Buffer[]) => Buffer.concat([...parts, Buffer.from(`--${B}--\r\n`)]);

describe("multipart/form-data bodies", () => {
  it("parses Plex's request: the JSON payload part, and the thumbnail as name, type and size", () => {
    const thumb = Buffer.alloc(70_000, 0xd8);
    const raw = body(
      field("payload", '{"event":"media.scrobble","Metadata":{"title":"Heat"}}', "application/json"),
      file("thumb", "thumb.jpg", "image/jpeg", thumb),
    );
    expect(parseBody(raw, TYPE)).toEqual({
      ok: true,
      json: false,
      value: {
        payload: { event: "media.scrobble", Metadata: { title: "Heat" } },
        thumb: { name: "thumb.jpg", type: "image/jpeg", size: 70_000 },
      },
    });
  });

  it("keeps plain fields as text, repeated names as a list, a JSON-labelled field that does not parse as text", () => {
    const raw = body(field("a", "1"), field("a", "2"), field("note", "hé ✓"), field("data", "{broken", "application/json"));
    expect(parseMultipart(raw, TYPE)).toEqual({ a: ["1", "2"], note: "hé ✓", data: "{broken" });
  });

  it("takes a quoted boundary and a field named __proto__ as data", () => {
    const raw = body(field("__proto__", "x"));
    const parsed = parseMultipart(raw, `multipart/form-data; boundary="${B}"`);
    expect(Object.keys(parsed ?? {})).toEqual(["__proto__"]);
    expect(JSON.stringify(parsed)).toBe('{"__proto__":"x"}');
  });

  it("keeps a field as large as the body (no 1 MB field cap below body_limit)", () => {
    const big = "x".repeat(2 * 1024 * 1024);
    expect(parseMultipart(body(field("big", big)), TYPE)?.big).toHaveLength(big.length);
  });

  it.each([
    ["no boundary", body(field("a", "1")), "multipart/form-data"],
    ["cut short", body(field("a", "1"), file("f", "f.bin", "application/octet-stream", Buffer.alloc(100))).subarray(0, 120), TYPE],
    ["not multipart at all", Buffer.from("a=1&b=2"), TYPE],
    ["another boundary", body(field("a", "1")), "multipart/form-data; boundary=other"],
  ])("refuses a body that is not well-formed multipart: %s", (_name, raw, type) => {
    expect(parseMultipart(raw, type)).toBeUndefined();
    expect(parseBody(raw, type)).toEqual({ ok: false, reason: "body_not_multipart" });
  });

  it(`refuses more than ${MAX_PARTS} parts rather than keep half of them`, () => {
    const parts = Array.from({ length: MAX_PARTS + 1 }, (_, i) => field(`f${i}`, "v"));
    expect(parseMultipart(body(...parts), TYPE)).toBeUndefined();
    expect(Object.keys(parseMultipart(body(...parts.slice(0, MAX_PARTS)), TYPE) ?? {})).toHaveLength(MAX_PARTS);
  });

  it("leaves form-urlencoded bodies as they were", () => {
    expect(parseBody(Buffer.from("a=1&a=2&b=x+y"), "application/x-www-form-urlencoded")).toEqual({
      ok: true,
      value: { a: ["1", "2"], b: "x y" },
      json: false,
    });
  });
});
