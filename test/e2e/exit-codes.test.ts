import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import * as cli from "../../src/cli/index.js";
import { CLI, requireBuild, runCli, startDaemon, tempDir, writeConfig } from "./harness.js";

/**
 * Scripts and supervisors act on exit codes: every code the CLI makes is in the README's table,
 * and each one in the table is produced here by the built CLI in the situation it describes.
 */

const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");

function documentedCodes(): number[] {
  const section = readme.split("### Exit codes")[1]?.split(/\n#{2,3} /)[0] ?? "";
  return [...section.matchAll(/^\| `(\d+)` \|/gm)].map((m) => Number(m[1]));
}

const OK_CONFIG = `store: { path: ./data/sy.db }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`;

/** Runs the built CLI with stdout going to an open file (e.g. /dev/full). */
async function runToFile(args: string[], path: string): Promise<{ code: number | null; stderr: string }> {
  requireBuild();
  const fd = openSync(path, "w");
  const proc = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH }, stdio: ["ignore", fd, "pipe"] });
  closeSync(fd);
  let stderr = "";
  proc.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((r) => proc.once("close", (c) => r(c)));
  return { code, stderr };
}

/** Runs the built CLI with its stdout pipe closed by the reader before a byte is read (`| head -0`). */
async function runIntoClosedPipe(args: string[]): Promise<{ code: number | null; stderr: string }> {
  requireBuild();
  const proc = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH }, stdio: ["ignore", "pipe", "pipe"] });
  proc.stdout.destroy();
  let stderr = "";
  proc.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  const code = await new Promise<number | null>((r) => proc.once("close", (c) => r(c)));
  return { code, stderr };
}

describe("e2e: exit codes", { timeout: 90_000 }, () => {
  it("the README's table lists exactly the codes the CLI defines", () => {
    const defined = Object.entries(cli)
      .filter(([name, value]) => name.startsWith("EXIT_") && typeof value === "number")
      .map(([, value]) => value as number);
    expect(documentedCodes().sort((a, b) => a - b)).toEqual([...new Set(defined)].sort((a, b) => a - b));
  });

  it("each documented code is what the built CLI exits with in its situation", async () => {
    const dir = tempDir();
    const ok = writeConfig(dir, OK_CONFIG);
    const bad = writeConfig(dir, "routes:\n  - { name: x }\n", "bad.yaml");
    const scenarios: Record<number, () => Promise<{ code: number | null; stderr: string }>> = {
      0: () => runCli(["check", "-c", ok]),
      1: () => runCli(["check", "-c", bad]),
      2: () => runCli(["frobnicate"]),
      3: async () => {
        const held = createServer();
        await new Promise<void>((r) => held.listen(0, "127.0.0.1", () => r()));
        const address = held.address();
        const port = typeof address === "object" && address ? address.port : 0;
        try {
          return await runCli(["serve", "-c", ok, "--listen", `127.0.0.1:${port}`]);
        } finally {
          held.close();
        }
      },
      // Output that cannot be written (a full disk) is nothing the CLI expects.
      70: () => runToFile(["check", "-c", ok], "/dev/full"),
    };
    const codes = documentedCodes();
    expect(codes.length).toBeGreaterThanOrEqual(5);
    for (const code of codes) {
      const scenario = scenarios[code];
      expect(scenario, `no scenario for documented exit code ${code}`).toBeDefined();
      const r = await (scenario as () => Promise<{ code: number | null; stderr: string }>)();
      expect(r.code, `exit code ${code}: ${r.stderr}`).toBe(code);
    }
    expect((await runToFile(["check", "-c", ok], "/dev/full")).stderr).toContain("switchyard: unexpected error: Error: ENOSPC");
  });

  it("a verb whose reader goes away (| head) exits quietly with its own code", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, OK_CONFIG);
    const body = join(dir, "body.json");
    writeFileSync(body, JSON.stringify({ big: "x".repeat(200_000) }));
    // `events` reads an existing store, which the daemon creates on its first start.
    const daemon = await startDaemon(file, { SWITCHYARD_LISTEN: "127.0.0.1:0" });
    expect(await daemon.stop()).toBe(0);
    for (const args of [
      ["test", "demo", "-c", file, "--body", body],
      ["check", "-c", file],
      ["events", "-c", file],
    ]) {
      const r = await runIntoClosedPipe(args);
      expect(r.stderr, args[0]).toBe("");
      expect(r.code, args[0]).toBe(0);
    }
    // A verb that fails still says why on stderr and keeps its code.
    const missing = await runIntoClosedPipe(["test", "nope", "-c", file, "--body", body]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no route named "nope"');
  });
});
