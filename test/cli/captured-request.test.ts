import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { capturedBody, capturedLine, readCapturedRequest } from "../../src/cli/captured-request.js";
import { tempDir } from "../e2e/harness.js";

/** The lines `capture --out` writes must give `test --request` back the very bytes that were signed. */
describe("captured requests", () => {
  const head = { receivedAt: "2026-01-01T00:00:00.000Z", method: "POST", path: "/hooks/x", query: { a: "1" }, headers: { "x-sig": "s" } };

  it("keeps a body byte for byte, UTF-8 text or not, and reads the last line or the Nth", () => {
    const dir = tempDir("switchyard-captured-");
    const text = Buffer.from('{ "b": "é",\r\n  "k": 1 }');
    const binary = Buffer.from([0xff, 0x00, 0xc3, 0x28]);
    const file = join(dir, "c.jsonl");
    writeFileSync(file, capturedLine(head, text) + capturedLine(head, binary));
    const last = readCapturedRequest(file);
    expect(last.bodyBase64).toBeDefined();
    expect(capturedBody(last).equals(binary)).toBe(true);
    const first = readCapturedRequest(`${file}:1`);
    expect(first.body).toBeDefined();
    expect(capturedBody(first).equals(text)).toBe(true);
    expect(first.headers).toEqual({ "x-sig": "s" });
    expect(first.query).toEqual({ a: "1" });
  });

  it("names the file and line of what it cannot use", () => {
    const dir = tempDir("switchyard-captured-");
    const file = join(dir, "bad.jsonl");
    writeFileSync(file, '{"method":"POST","path":"/x","headers":{"a":1}}\nnot json\n');
    expect(() => readCapturedRequest(`${file}:1`)).toThrow(`${file}:1 is not a request written by switchyard capture --out`);
    expect(() => readCapturedRequest(file)).toThrow(`${file}:2 is not JSON`);
    expect(() => readCapturedRequest(`${file}:3`)).toThrow("holds 2 requests: there is no request 3");
    writeFileSync(join(dir, "empty.jsonl"), "\n");
    expect(() => readCapturedRequest(join(dir, "empty.jsonl"))).toThrow("holds no request");
    expect(() => readCapturedRequest(join(dir, "missing.jsonl"))).toThrow("cannot read the request file");
  });
});
