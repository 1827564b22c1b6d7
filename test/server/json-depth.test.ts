import { describe, expect, it } from "vitest";
import { jsonTooDeep, MAX_JSON_DEPTH } from "../../src/server/json-depth.js";

const nested = (depth: number, open = "[", close = "]") => `${open.repeat(depth)}${close.repeat(depth)}`;

describe("jsonTooDeep", () => {
  it.each([
    ["at the limit", nested(MAX_JSON_DEPTH), false],
    ["one past it", nested(MAX_JSON_DEPTH + 1), true],
    ["objects past it", `${'{"a":'.repeat(MAX_JSON_DEPTH + 1)}1${"}".repeat(MAX_JSON_DEPTH + 1)}`, true],
    ["leading whitespace", ` \n\t${nested(MAX_JSON_DEPTH + 1)}`, true],
    ["brackets inside a string", `["${"[".repeat(5_000)}"]`, false],
    ["escaped quotes inside a string", `["\\"${"[".repeat(5_000)}"]`, false],
    ["an escaped backslash ending a string", `["\\\\", ${nested(MAX_JSON_DEPTH)}]`, true],
    ["siblings, each shallow", `[${Array.from({ length: 1_000 }, () => nested(10)).join(",")}]`, false],
    ["text that is not JSON", `x${nested(5_000)}`, false],
    ["a JSON string", `"${nested(5_000)}"`, false],
    ["unbalanced closers", `[${"]".repeat(5_000)}${nested(MAX_JSON_DEPTH - 1)}`, false],
    ["empty", "", false],
  ])("%s", (_name, text, deep) => {
    expect(jsonTooDeep(Buffer.from(text))).toBe(deep);
  });

  it("agrees with a real parse on what is deeper than the limit", () => {
    const depthOf = (v: unknown): number =>
      v !== null && typeof v === "object" ? 1 + Math.max(0, ...Object.values(v as object).map(depthOf)) : 0;
    for (const depth of [2, 3, 10, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH, MAX_JSON_DEPTH + 1, MAX_JSON_DEPTH + 2]) {
      const text = `{"s":"[[[[","a":${nested(depth - 1)}}`;
      expect(jsonTooDeep(Buffer.from(text)), String(depth)).toBe(depthOf(JSON.parse(text)) > MAX_JSON_DEPTH);
    }
  });
});
