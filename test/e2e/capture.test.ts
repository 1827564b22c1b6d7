import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, requireBuild, runCli, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * `switchyard capture -c` with a GitHub route: a user points a hook at it and sees each request,
 * what the daemon would make of it, and can replay it later through `switchyard test`.
 */

const SECRET = "capture-e2e-secret";

describe("switchyard capture", () => {
  let dir: string;
  let config: string;
  let out: string;
  let proc: ChildProcessWithoutNullStreams;
  let stdout = "";
  let base = "";

  beforeAll(async () => {
    requireBuild();
    dir = tempDir("switchyard-capture-");
    config = writeConfig(
      dir,
      `server:
  listen: 127.0.0.1:8080
  body_limit: 4kb
store:
  path: ./data/switchyard.db
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: ${SECRET} }
    filter: 'headers."x-github-event" = "push"'
    targets:
      - name: log
        type: exec
        command: [cat]
  - name: meta
    path: /hooks/meta
    verify: { type: meta, secret: meta-app-secret, verify_token: meta-verify-5678 }
    targets:
      - name: log
        type: exec
        command: [cat]
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: meraki-shared-1234 }
    targets:
      - name: log
        type: exec
        command: [cat]
`,
    );
    out = join(dir, "captured.jsonl");
    proc = spawn(process.execPath, [CLI, "capture", "-c", config, "--listen", "127.0.0.1:0", "--out", out], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
      cwd: dir,
    });
    proc.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    const port = await waitFor(() => /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(stdout)?.[1], "capture to listen", 30_000);
    base = `http://127.0.0.1:${port}`;
  }, 40_000);

  afterAll(() => {
    if (proc.exitCode === null) proc.kill("SIGKILL");
  });

  const body = JSON.stringify({ ref: "refs/heads/main", note: "esc \u001b[2J here" });

  it("says a correctly signed request is github's and verified, and a forged one why not", async () => {
    const signature = await githubSign(SECRET, body);
    const good = await fetch(`${base}/hooks/github`, {
      method: "POST",
      headers: {
        "Content-Type": "application/json",
        "X-GitHub-Event": "push",
        "X-GitHub-Delivery": "d-good",
        "X-Hub-Signature-256": signature,
        Authorization: "Bearer very-private-token",
      },
      body,
    });
    expect(good.status).toBe(200);
    const forged = await fetch(`${base}/hooks/github`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-GitHub-Event": "push", "X-Hub-Signature-256": `sha256=${"0".repeat(64)}` },
      body,
    });
    expect(forged.status).toBe(200);
    await waitFor(() => stdout.includes("signature_mismatch"), "the forged request's verdict");

    const [, goodBlock, forgedBlock] = stdout.split(/^--- /m);
    expect(goodBlock).toContain("route: github (POST /hooks/github, verify github)");
    expect(goodBlock).toContain("verification: verified (delivery id d-good)");
    expect(goodBlock).toContain("route filter: pass");
    expect(goodBlock).toContain("x-hub-signature-256: sha256=");
    // The credential header is masked; the body is pretty-printed, its escape shown escaped.
    expect(goodBlock).toContain("authorization: [redacted]");
    expect(stdout).not.toContain("very-private-token");
    expect(goodBlock).toContain('  "ref": "refs/heads/main",');
    expect(goodBlock).toContain("\\u001b[2J");
    expect(forgedBlock).toContain("route: github");
    expect(forgedBlock).toContain("verification: failed: signature_mismatch");
    expect(forgedBlock).toContain("the daemon would answer 401");
  });

  it("answers Meta's GET verification request as the daemon would, so a hook can be registered against it", async () => {
    const res = await fetch(`${base}/hooks/meta?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meta-verify-5678`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("1158201444");
    const wrong = await fetch(`${base}/hooks/meta?hub.mode=subscribe&hub.challenge=99&hub.verify_token=guess`);
    expect(wrong.status).toBe(200);
    await waitFor(() => stdout.includes("GET handshake refused"), "the refused handshake's verdict");
    expect(stdout).toContain("GET handshake: answered 200 as the daemon would");
    expect(stdout).toContain("the daemon would answer 403: GET handshake refused: signature_mismatch");
    expect(stdout).not.toContain("meta-verify-5678");
  });

  it("shows hostile bytes in a header escaped, never raw", async () => {
    // Byte 0x9b is a one-byte CSI on some terminals; Node passes it through as U+009B.
    const raw = Buffer.concat([
      Buffer.from("POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-Evil: a"),
      Buffer.from([0x9b]),
      Buffer.from("31mred\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"),
    ]);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(base).port), "127.0.0.1");
      let text = "";
      socket.setEncoding("latin1").on("data", (c: string) => {
        text += c;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write(raw);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200/);
    await waitFor(() => stdout.includes("x-evil:"), "the hostile request");
    expect(stdout).toContain("x-evil: a\\u009b31mred");
    expect(stdout.includes("\u001b") || stdout.includes("\u009b")).toBe(false);
  });

  it("masks the config's secrets wherever they appear, and says so of a request Node refuses", async () => {
    const meraki = await fetch(`${base}/hooks/meraki`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sharedSecret: "meraki-shared-1234", alertId: "a-77" }),
    });
    expect(meraki.status).toBe(200);
    await waitFor(() => stdout.includes("route: meraki"), "the Meraki request");
    const block = stdout.split(/^--- /m).find((b) => b.includes("route: meraki")) ?? "";
    expect(block).toContain('"sharedSecret": "[redacted]"');
    expect(block).toContain("verification: verified (delivery id a-77)");
    expect(stdout).not.toContain("meraki-shared-1234");

    // An ESC byte in a header is not HTTP: Node's parser refuses it before any handler runs.
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(base).port), "127.0.0.1");
      let text = "";
      socket.setEncoding("latin1").on("data", (c: string) => {
        text += c;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
      socket.write("POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-Evil: a\u001b[31m\r\nContent-Length: 0\r\n\r\n");
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    await waitFor(() => stdout.includes("answered 400: the request is not valid HTTP"), "the line about the refused request");
  });

  it("answers 413 to a body over body_limit", async () => {
    const res = await fetch(`${base}/hooks/github`, { method: "POST", body: "x".repeat(8 * 1024) });
    expect(res.status).toBe(413);
    await waitFor(() => stdout.includes("answered 413"), "the 413 line");
  });

  it("stores nothing, and its --out lines replay through switchyard test with the same verdict", async () => {
    expect(existsSync(join(dir, "data"))).toBe(false);
    expect(readdirSync(dir).some((f) => f.endsWith(".db"))).toBe(false);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const lines = readFileSync(out, "utf8").trim().split("\n");
    expect(lines.length).toBeGreaterThanOrEqual(2);

    const good = await runCli(["test", "github", "-c", config, "--request", `${out}:1`]);
    expect(good.stderr).toBe("");
    expect(good.stdout).toContain("verification: ok");
    expect(good.stdout).toContain("route filter: pass");
    expect(good.stdout).toContain("answer: 202");
    const forged = await runCli(["test", "github", "-c", config, "--request", `${out}:2`]);
    expect(forged.stdout).toContain("verification: failed: signature_mismatch");
    expect(forged.stdout).toContain("answer: 401");
    const missing = await runCli(["test", "github", "-c", config, "--request", `${out}:99`]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("there is no request 99");
  }, 30_000);

  it("exits 3 when its address is taken, naming it", async () => {
    const second = await runCli(["capture", "--listen", new URL(base).host]);
    expect(second.code).toBe(3);
    expect(second.stderr).toContain(`cannot listen on ${new URL(base).host}: address in use (--listen)`);
  }, 20_000);

  it("stops cleanly on SIGTERM", async () => {
    const exited = new Promise<number | null>((r) => proc.once("exit", (c) => r(c)));
    proc.kill("SIGTERM");
    expect(await exited).toBe(0);
  }, 20_000);
});
