import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig, compileConfigAsync } from "../../src/config/compile.js";
import { loadConfigFile } from "../../src/config/load.js";
import { ConfigError, type ConfigIssue } from "../../src/errors.js";

/**
 * What a serving daemon's reload runs: the same load (on a worker thread, in the build) and the
 * same compile (in slices, with turns of the event loop between them) as `check` runs at once,
 * with the same result, line numbers included.
 */

const log = pino({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "switchyard-load-async-"));
const BUILT = resolve(import.meta.dirname, "../../dist/src/config/load-off-thread.js");
const ENV = { SECRET: "a-long-enough-secret" };

function big(routes: number, extra = ""): string {
  const lines = ["server: { listen: 127.0.0.1:0 }", "routes:"];
  for (let i = 0; i < routes; i++) {
    lines.push(
      `  - name: r${i}`,
      `    path: /hooks/r${i}`,
      `    verify: { type: github, secret: "\${SECRET}-${i}" }`,
      `    filter: headers."x-github-event" = "push"`,
      "    targets:",
      `      - { name: a, type: http, url: "http://127.0.0.1:9/a${i}", transform: '{ "text": body.ref }' }`,
    );
  }
  return `${lines.join("\n")}\n${extra}`;
}

async function issuesOf(run: () => Promise<unknown> | unknown): Promise<ConfigIssue[]> {
  try {
    await run();
  } catch (err) {
    // By its code: the built loader throws the built ConfigError, another class than the sources'.
    if (err instanceof ConfigError || (err as { code?: unknown }).code === "CONFIG_INVALID") return [...(err as ConfigError).issues];
    throw err;
  }
  return [];
}

describe("loading and compiling for a reload", () => {
  it("compiles in slices, letting the event loop turn, to the same config as the compile at once", async () => {
    const file = join(dir, "big.yaml");
    writeFileSync(file, big(2_000));
    const loaded = loadConfigFile(file, ENV);
    let turns = 0;
    let counting = true;
    const count = () => {
      turns++;
      if (counting) setImmediate(count);
    };
    setImmediate(count);
    const sliced = await compileConfigAsync(loaded, { log, env: ENV });
    counting = false;
    const atOnce = compileConfig(loaded, { log, env: ENV });
    expect(turns).toBeGreaterThan(5);
    expect(sliced.routes.map((r) => r.path)).toEqual(atOnce.routes.map((r) => r.path));
    expect(sliced.warnings).toEqual(atOnce.warnings);
    expect(sliced.redact("x a-long-enough-secret-1999 y")).toBe("x [redacted] y");
  }, 120_000);

  describe("on a worker thread (the built loader)", () => {
    const load = async () => {
      if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run npm run build first`);
      const mod = (await import(BUILT)) as typeof import("../../src/config/load-off-thread.js");
      return mod.loadOffThread;
    };

    it("gives the same config and the same line of every place, existing or not", async () => {
      const file = join(dir, "lines.yaml");
      writeFileSync(file, big(300));
      const loadOffThread = await load();
      const there = await loadOffThread(file, ENV, 0);
      const here = loadConfigFile(file, ENV);
      expect(there.config).toEqual(here.config);
      expect(there.raw).toEqual(here.raw);
      expect(there.issues).toEqual(here.issues);
      const places = [
        ["server", "listen"],
        ["routes", 0, "name"],
        ["routes", 150, "targets", 0, "transform"],
        ["routes", 299, "verify", "secret"],
        ["routes", 299, "verify", "missing_key"],
        ["routes", 12, "targets", 3],
        ["store", "path"],
      ];
      for (const p of places) expect([p, there.lineOf(p)]).toEqual([p, here.lineOf(p)]);
    }, 60_000);

    it("reports the same problems, with the same lines, for a broken file", async () => {
      const file = join(dir, "broken.yaml");
      // Route 250 repeats route 3's path; route 251 has an unknown key and a bad JSONata filter.
      const extra = [
        "  - { name: dup, path: /hooks/r3, verify: { type: none }, targets: [ { name: t, type: http, url: 'http://127.0.0.1:9/' } ] }",
        "  - { name: bad, path: /bad, colour: red, filter: 'body.(', verify: { type: none }, targets: [ { name: t, type: http, url: 'http://127.0.0.1:9/' } ] }",
        "",
      ].join("\n");
      writeFileSync(file, big(250, extra));
      const loadOffThread = await load();
      const there = await issuesOf(async () => compileConfigAsync(await loadOffThread(file, ENV, 0), { log, env: ENV }));
      const here = await issuesOf(() => compileConfig(loadConfigFile(file, ENV), { log, env: ENV }));
      expect(there.length).toBeGreaterThanOrEqual(3);
      expect(there).toEqual(here);
      expect(there.every((i) => i.line !== undefined)).toBe(true);

      writeFileSync(file, "routes: [ { name: x\n");
      const yamlThere = await issuesOf(() => loadOffThread(file, ENV, 0));
      expect(yamlThere[0]?.message).toMatch(/^YAML: /);
      expect(yamlThere).toEqual(await issuesOf(() => loadConfigFile(file, ENV)));
      expect((await issuesOf(() => loadOffThread(join(dir, "nope.yaml"), ENV, 0)))[0]?.message).toContain("file not found");
    }, 60_000);
  });
});
