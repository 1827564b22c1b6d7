import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../src/cli/index.js";
import { ConfigSchema } from "../src/config/schema.js";
import { readmeBlocks, referenceBlocks } from "../src/docs/reference.js";
import { targets } from "../src/plugins/targets/index.js";
import { verifiers } from "../src/plugins/verifiers/index.js";
import { Metrics } from "../src/telemetry/metrics.js";

/** The README is the user's reference: every config key, scheme, CLI verb and metric is in it. */
const readme = readFileSync(resolve(import.meta.dirname, "../README.md"), "utf8");

function keysOf(schema: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(schema)) {
    for (const s of schema) keysOf(s, out);
  } else if (schema !== null && typeof schema === "object") {
    const s = schema as Record<string, unknown>;
    if (s.properties && typeof s.properties === "object") {
      for (const [k, v] of Object.entries(s.properties)) {
        out.add(k);
        keysOf(v, out);
      }
    }
    for (const k of ["items", "anyOf", "oneOf", "additionalProperties", "patternProperties"]) if (k in s) keysOf(s[k], out);
  }
  return out;
}

/** The lines only in `a` (-) and only in `b` (+), in order: enough to see what changed in a table. */
function lineDiff(a: string, b: string): string {
  const x = a.split("\n");
  const y = b.split("\n");
  // Longest common subsequence, small tables only.
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      (lcs[i] as number[])[j] = x[i] === y[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, lcs[i]?.[j + 1] ?? 0);
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
    } else if (i < x.length && (j === y.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) out.push(`- ${x[i++]}`);
    else out.push(`+ ${y[j++]}`);
  }
  return out.join("\n");
}

describe("README", () => {
  it("has the reference tables the schema generates", () => {
    const inReadme = readmeBlocks(readme);
    const stale = Object.entries(referenceBlocks())
      .filter(([name, block]) => inReadme[name] !== block)
      .map(([name, block]) =>
        inReadme[name] === undefined
          ? `${name}: no <!-- generated:${name} --> … <!-- /generated --> markers in README.md`
          : `${name}:\n${lineDiff(inReadme[name] ?? "", block)}`,
      );
    if (stale.length > 0) expect.fail(`README.md's reference tables are stale; run npm run docs\n\n${stale.join("\n\n")}`);
  });

  it("documents every config key", () => {
    const missing = [...keysOf(ConfigSchema)].filter((k) => !readme.includes(`\`${k}\``));
    expect(missing).toEqual([]);
  });

  it("documents every verification scheme and target type", () => {
    for (const t of [...verifiers.map((v) => v.type), ...targets.map((t) => t.type)]) expect(readme).toContain(`\`${t}\``);
  });

  it("documents every CLI verb", () => {
    const program = buildProgram(() => {});
    const verbs = program.commands.flatMap((c) => (c.commands.length ? c.commands.map((s) => `${c.name()} ${s.name()}`) : [c.name()]));
    for (const v of verbs) expect(readme).toContain(`switchyard ${v}`);
  });

  it("documents every metric", async () => {
    const metrics = new Metrics(async () => ({ pending: 0, retrying: 0, dead: 0 }));
    const names = (await metrics.registry.getMetricsAsJSON()).map((m) => m.name).filter((n) => n.startsWith("switchyard_"));
    expect(names.length).toBeGreaterThanOrEqual(7);
    for (const n of names) expect(readme).toContain(`\`${n}\``);
  });
});
