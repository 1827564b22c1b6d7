import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { post, runCli, startDaemon, tempDir, writeConfig } from "./harness.js";

/** `switchyard test` must answer what the daemon answers: the limits it applies before verification included. */

const route = `routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`;

async function dryRunAnswer(file: string, body: string): Promise<{ answer: unknown; error?: unknown }> {
  const r = await runCli(["test", "demo", "-c", file, "--body", body, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { answer: unknown; error?: unknown };
}

describe("e2e: the dry run applies the daemon's body limits", { timeout: 120_000 }, () => {
  it("a 3 MB body under the default 1mb body_limit: 413, as the daemon would answer", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `store: { path: ./sy.db }\n${route}`);
    const body = join(dir, "big.json");
    writeFileSync(body, JSON.stringify({ blob: "x".repeat(3 * 1024 * 1024) }));
    const human = await runCli(["test", "demo", "-c", file, "--body", body]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain("answer: 413");
    expect(human.stdout).toMatch(/error: body too large: \d+ bytes, over server\.body_limit \(1mb\)/);
    expect(human.stdout).not.toContain("answer: 202");
  });

  it("agrees with the running daemon on either side of a small body_limit, and on nesting", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `server: { listen: 127.0.0.1:0, body_limit: 1kb }\nstore: { path: ./sy.db }\n${route}`);
    const fits = JSON.stringify({ pad: "x".repeat(1024 - 10) });
    const over = JSON.stringify({ pad: "x".repeat(2048) });
    const deep = `${"[".repeat(300)}${"]".repeat(300)}`;
    expect(Buffer.byteLength(fits)).toBe(1024);
    const bodies = { fits, over, deep };
    for (const [name, text] of Object.entries(bodies)) writeFileSync(join(dir, `${name}.json`), text);

    const daemon = await startDaemon(file);
    try {
      for (const [name, text] of Object.entries(bodies)) {
        const live = await post(`${daemon.url}/hooks/demo`, text);
        const dry = await dryRunAnswer(file, join(dir, `${name}.json`));
        expect(dry.answer, name).toBe(live.status);
      }
    } finally {
      await daemon.stop();
    }
    expect((await dryRunAnswer(file, join(dir, "over.json"))).error).toBe("body too large: 2058 bytes, over server.body_limit (1kb)");
    expect((await dryRunAnswer(file, join(dir, "deep.json"))).error).toBe("body nested too deeply (over 256 levels)");
  });
});
