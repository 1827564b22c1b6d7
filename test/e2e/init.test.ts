import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, type RunningDaemon, runCli, startDaemon, tempDir, waitFor } from "./harness.js";

/**
 * `switchyard init` is the first thing a new user runs: what it writes must pass `check`, serve
 * at once, accept a request signed with the secret it made, and never show that secret.
 */

const PROVIDERS = ["github", "gitea", "gitlab", "meraki", "stripe", "slack", "generic"] as const;

/** A body each starter route's filter keeps, as the provider would send it (sign adds the headers). */
const BODIES: Record<(typeof PROVIDERS)[number], unknown> = {
  github: { ref: "refs/heads/main", repository: { full_name: "o/r" } },
  gitea: { ref: "refs/heads/main" },
  gitlab: { object_kind: "push", ref: "refs/heads/main" },
  meraki: { alertId: "a1", alertType: "Settings changed", alertLevel: "informational" },
  stripe: { id: "evt_1", object: "event", type: "invoice.paid", data: { object: { id: "in_1" } } },
  slack: { type: "event_callback", event_id: "Ev1", event: { type: "app_mention" } },
  generic: { hello: "world" },
};

function secretOf(dir: string, provider: string): string {
  return readFileSync(join(dir, "secrets", `${provider}.secret`), "utf8").trim();
}

function mode(file: string): number {
  return statSync(file).mode & 0o777;
}

function shell(line: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const proc = spawn("sh", ["-c", line], { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    proc.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    proc.once("close", (code) => done({ code, stdout, stderr }));
  });
}

describe("e2e: switchyard init", () => {
  it.each(PROVIDERS)("%s: writes a config check accepts, a 0600 secret file, and prints no secret", async (provider) => {
    const dir = join(tempDir(), "sy");
    const r = await runCli(["init", provider, "-o", dir, "--public-url", "https://hooks.example.com/"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const file = join(dir, "secrets", `${provider}.secret`);
    expect(mode(file)).toBe(0o600);
    expect(mode(join(dir, "secrets"))).toBe(0o700);
    const secret = secretOf(dir, provider);
    expect(secret.length).toBeGreaterThanOrEqual(43);
    expect(r.stdout).not.toContain(secret);
    expect(r.stdout).toContain(`https://hooks.example.com/hooks/${provider}`);
    // Commands read the secret from the file; where a person pastes it, the file is named.
    const readsFile = ["github", "gitea", "gitlab", "generic"].includes(provider);
    expect(r.stdout).toContain(readsFile ? `$(cat '${file}')` : `'${file}'`);
    const checked = await runCli(["check", "-c", join(dir, "switchyard.yaml")]);
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
    expect(checked.stdout).toContain("ok (1 route, 1 target)");
  });

  it("prints GitHub's own registration command, which reads the secret from the file when run", async () => {
    const root = tempDir();
    const dir = join(root, "sy");
    const r = await runCli(["init", "github", "gitea", "-o", dir, "--public-url", "https://hooks.example.com"]);
    expect(r.code).toBe(0);
    // Stand-ins for gh and curl that record their argv instead of calling GitHub or Gitea.
    const bin = join(root, "bin");
    mkdirSync(bin);
    for (const name of ["gh", "curl"]) {
      writeFileSync(join(bin, name), `#!/bin/sh\nprintf '%s\\n' "$@" > "$ARGV_OUT.${name}"\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const env = { PATH: `${bin}:${process.env.PATH}`, ARGV_OUT: join(root, "argv") };
    const gh = r.stdout.split("\n").find((l) => l.trim().startsWith("gh api repos/OWNER/REPO/hooks -f"));
    expect(gh).toBeDefined();
    expect((await shell(gh ?? "", env)).code).toBe(0);
    const ghArgv = readFileSync(join(root, "argv.gh"), "utf8").split("\n");
    expect(ghArgv).toContain(`config[secret]=${secretOf(dir, "github")}`);
    expect(ghArgv).toContain("config[url]=https://hooks.example.com/hooks/github");
    expect(ghArgv).toContain("events[]=push");
    expect(r.stdout).toContain("gh api repos/OWNER/REPO/hooks/ID/pings -X POST");

    const curl = r.stdout.split("\n").find((l) => l.includes("/api/v1/repos/OWNER/REPO/hooks -d"));
    expect((await shell(curl ?? "", env)).code).toBe(0);
    const curlArgv = readFileSync(join(root, "argv.curl"), "utf8").split("\n");
    const payload = JSON.parse(curlArgv[curlArgv.indexOf("-d") + 1] ?? "");
    expect(payload).toMatchObject({
      type: "gitea",
      events: ["push"],
      config: { url: "https://hooks.example.com/hooks/gitea", secret: secretOf(dir, "gitea") },
    });
  });

  it("refuses to overwrite without --force, writing nothing; --force replaces with a new 0600 secret", async () => {
    const dir = join(tempDir(), "sy");
    expect((await runCli(["init", "github", "-o", dir])).code).toBe(0);
    const config = readFileSync(join(dir, "switchyard.yaml"), "utf8");
    const secret = secretOf(dir, "github");

    const again = await runCli(["init", "github", "stripe", "-o", dir]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("already exist");
    expect(again.stderr).toContain("--force");
    expect(secretOf(dir, "github")).toBe(secret);
    expect(readFileSync(join(dir, "switchyard.yaml"), "utf8")).toBe(config);
    expect(existsSync(join(dir, "secrets", "stripe.secret"))).toBe(false);

    // Only the secret file left from before is enough to refuse: a registered hook may use it.
    const secretOnly = join(tempDir(), "sy");
    mkdirSync(join(secretOnly, "secrets"), { recursive: true });
    writeFileSync(join(secretOnly, "secrets", "github.secret"), "kept\n");
    expect((await runCli(["init", "github", "-o", secretOnly])).code).toBe(1);
    expect(readFileSync(join(secretOnly, "secrets", "github.secret"), "utf8")).toBe("kept\n");
    expect(existsSync(join(secretOnly, "switchyard.yaml"))).toBe(false);

    chmodSync(join(dir, "secrets", "github.secret"), 0o644);
    const forced = await runCli(["init", "github", "-o", dir, "--force"]);
    expect(forced.code).toBe(0);
    expect(secretOf(dir, "github")).not.toBe(secret);
    expect(mode(join(dir, "secrets", "github.secret"))).toBe(0o600);
  });

  it("names the providers it knows when given another (a usage error)", async () => {
    const r = await runCli(["init", "githib", "-o", tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("github");
  });

  it("refuses a --public-url that is not an http(s) URL", async () => {
    const dir = join(tempDir(), "sy");
    const r = await runCli(["init", "github", "-o", dir, "--public-url", "hooks.example.com"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("--public-url");
    expect(existsSync(dir)).toBe(false);
  });

  it("with no provider writes a generic route", async () => {
    const dir = join(tempDir(), "sy");
    const r = await runCli(["init", "-o", dir]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, "switchyard.yaml"), "utf8")).toContain("name: generic");
  });
});

describe("e2e: serving what init wrote", () => {
  let dir: string;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    dir = join(tempDir(), "sy");
    const r = await runCli(["init", ...PROVIDERS, "-o", dir]);
    expect(r.code).toBe(0);
    for (const p of PROVIDERS) expect(r.stdout).not.toContain(secretOf(dir, p));
    daemon = await startDaemon(join(dir, "switchyard.yaml"), { SWITCHYARD_LISTEN: "127.0.0.1:0" });
  }, 60_000);

  afterAll(async () => {
    await daemon?.stop();
  });

  it.each(PROVIDERS)("%s: a request signed with the secret in the file is accepted and its event logged", async (provider) => {
    const body = join(dir, `${provider}-body.json`);
    writeFileSync(body, JSON.stringify(BODIES[provider]));
    const signed = await runCli(["sign", provider, "-c", join(dir, "switchyard.yaml"), "--body", body, "--url", daemon.url]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const curl = signed.stdout.trim().split("\n").at(-1) ?? "";
    const sent = await shell(curl, { PATH: process.env.PATH });
    expect(sent.stderr).toBe("");
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: "accepted" });
    // The starter target appends the event to data/PROVIDER-events.jsonl.
    const events = join(dir, "data", `${provider}-events.jsonl`);
    // tee may write the event in more than one piece: wait for a whole JSON line, not just a file.
    const event = await waitFor(
      () => {
        try {
          return existsSync(events) && (JSON.parse(readFileSync(events, "utf8").split("\n")[0] ?? "") as unknown);
        } catch {
          return false;
        }
      },
      `${provider}'s event in ${events}`,
      30_000,
    );
    expect(event).toMatchObject({ route: provider });
  });

  it("refuses an unsigned request", async () => {
    const r = await post(`${daemon.url}/hooks/github`, JSON.stringify(BODIES.github), { "x-github-event": "push" });
    expect(r.status).toBe(401);
    // The daemon logged every event above; none of the secrets it verified them with.
    const logged = JSON.stringify(daemon.logs) + daemon.stderr.join("");
    for (const p of PROVIDERS) expect(logged).not.toContain(secretOf(dir, p));
  });
});
