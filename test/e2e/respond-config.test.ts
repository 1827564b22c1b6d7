import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, tempDir, writeConfig } from "./harness.js";

/** `respond` as `check` and `test` see it: mistakes named with their place, and the answer a route would give. */

describe("e2e: respond in check and test", { timeout: 60_000 }, () => {
  it("check names an unknown respond.target, a relay target (which has no answer), a JSONata syntax error and keys that need target, each with its place", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `store: { path: ./sy.db }
routes:
  - name: slash
    path: /slash
    verify: { type: none }
    targets: [{ name: reply, type: http, url: "http://127.0.0.1:9/" }]
    respond: { target: replly, timeout: 2s, fallback: { body: '"ok" &' } }
  - name: fixed
    path: /fixed
    verify: { type: none }
    targets: [{ name: log, type: http, url: "http://127.0.0.1:9/" }]
    respond: { body: '{ "text": body.text', on_failure: { status: 502 } }
  - name: both
    path: /both
    verify: { type: none }
    targets: [{ name: log, type: http, url: "http://127.0.0.1:9/" }]
    respond: { target: log, statuss: 200 }
  - name: body
    path: /body
    verify: { type: none }
    targets: [{ name: log, type: http, url: "http://127.0.0.1:9/" }]
    respond: { target: log, body: '"hi"' }
  - name: edge
    path: /edge
    verify: { type: none }
    targets: [{ name: home, type: relay, path: /relay/home, token: "a-relay-token-of-16+" }]
    respond: { target: home }
`,
    );
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/routes\[0\]\.respond\.target.*no target of this route is named replly \(did you mean "reply"\?\)/);
    expect(r.stderr).toMatch(/routes\[0\]\.respond\.fallback\.body.*JSONata syntax error/);
    expect(r.stderr).toMatch(/routes\[1\]\.respond\.body.*JSONata syntax error/);
    expect(r.stderr).toMatch(/routes\[1\]\.respond\.on_failure.*applies only to an answer from a target: add `target`/);
    expect(r.stderr).toMatch(/routes\[2\]\.respond.*statuss/);
    expect(r.stderr).toMatch(/routes\[3\]\.respond\.body.*the target's answer is the body/);
    expect(r.stderr).toMatch(/routes\[4\]\.respond\.target.*home is a relay target.*no answer to give/);
  });

  it("test shows a fixed answer rendered, and for a target's answer which target, its timeout, fallback and on_failure", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `store: { path: ./sy.db }
routes:
  - name: fixed
    path: /fixed
    verify: { type: none }
    targets: [{ name: log, type: http, url: "http://127.0.0.1:9/" }]
    respond:
      status: 200
      headers: { Content-Type: application/json }
      body: '{ "text": "Deploying " & body.text }'
  - name: slash
    path: /slash
    verify: { type: none }
    targets: [{ name: run, type: exec, command: [/bin/echo] }]
    respond:
      target: run
      timeout: 2500ms
      content_type: application/json
      fallback: { status: 202 }
      on_failure: { status: 502, body: '"deploy of " & body.text & " failed; retrying"' }
`,
    );
    const body = join(dir, "body.json");
    writeFileSync(body, '{"text":"api"}');

    const fixed = await runCli(["test", "fixed", "-c", file, "--body", body]);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stdout).toContain("answer: 200");
    expect(fixed.stdout).toContain('answered (respond): 200\n  Content-Type: application/json\n  {"text":"Deploying api"}');

    const slash = await runCli(["test", "slash", "-c", file, "--body", body]);
    expect(slash.code, slash.stderr).toBe(0);
    expect(slash.stdout).toContain("answer: from target run (below)");
    expect(slash.stdout).toContain("answered by target run: its first attempt's answer, if it comes within 2.5s");
    expect(slash.stdout).toContain("an exec target's stdout as 200 application/json");
    expect(slash.stdout).toMatch(/after 2\.5s \(the delivery goes on\), fallback: 202\n.*\n\s+\{"status":"accepted","id":"[^"]+"\}/);
    expect(slash.stdout).toContain("if that attempt fails (it is retried), on_failure: 502");
    expect(slash.stdout).toContain("deploy of api failed; retrying");

    const json = JSON.parse((await runCli(["test", "slash", "-c", file, "--body", body, "--json"])).stdout) as Record<string, unknown>;
    expect(json.respond).toMatchObject({
      kind: "target",
      target: "run",
      timeout: "2.5s",
      exec: { status: 200, contentType: "application/json" },
      fallback: { status: 202 },
      onFailure: { status: 502, body: "deploy of api failed; retrying" },
    });
  });
});
