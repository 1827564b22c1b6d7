import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { requireBuild, runCli } from "./e2e/harness.js";

/** Every shipped config passes `switchyard check`, given the variables its comments name. */
const root = resolve(import.meta.dirname, "..");
const env = {
  GITHUB_WEBHOOK_SECRET: "s3cret",
  MERAKI_SHARED_SECRET: "meraki-secret",
  NTFY_URL: "https://ntfy.sh/my-random-topic-4f9c",
  STRIPE_WEBHOOK_SECRET: "whsec_test",
  BILLING_TOKEN: "billing-t0ken",
  DEMO_TOKEN: "t0ken",
  MQTT_PASSWORD: "mqtt-pass",
  SLACK_SIGNING_SECRET: "s3cret",
};
const recipes = readdirSync(join(root, "examples"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);
const files = ["config/switchyard.yaml", ...recipes.map((r) => `examples/${r}/switchyard.yaml`)];

describe("shipped configs", () => {
  it.each(files)("%s passes switchyard check", async (file) => {
    const r = await runCli(["check", "-c", join(root, file)], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: ok \(/);
  });

  it.each(recipes)("examples/%s has a README", (recipe) => {
    expect(readFileSync(join(root, "examples", recipe, "README.md"), "utf8")).toMatch(/^# /);
  });

  // Anything that leaves the machine must be named by the user, never a default.
  it.each([
    ["meraki-ntfy", "NTFY_URL"],
    ["stripe-http", "BILLING_TOKEN"],
    ["docker", "DEMO_TOKEN"],
  ])("examples/%s refuses to start without %s", async (recipe, name) => {
    const r = await runCli(["check", "-c", join(root, "examples", recipe, "switchyard.yaml")], { ...env, [name]: undefined });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(name);
  });

  it("the GitHub recipe's sample push to main passes the route and reaches the deploy script (dry run)", async () => {
    const args = ["test", "github", "-c", join(root, "examples/github-deploy/switchyard.yaml")];
    const body = ["--body", join(root, "examples/github-deploy/push-main.json"), "-H", "X-GitHub-Event: push", "--sign", "--json"];
    const r = await runCli([...args, ...body], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { verification: string; routeFilter: string; targets: { would: { argv: string[] } }[] };
    expect(report.verification).toBe("ok");
    expect(report.routeFilter).toBe("pass");
    expect(report.targets[0]?.would.argv.slice(1)).toEqual(["Codertocat/Hello-World", "6113728f27ae82c7b1a177c8d03f9e96e0adf246"]);
  });

  it("the Meraki → MQTT recipe's motion alert is published to its alert type's topic without the secret (dry run)", async () => {
    const dir = join(root, "examples/meraki-mqtt-home-assistant");
    const r = await runCli(["test", "meraki", "-c", join(dir, "switchyard.yaml"), "--body", join(dir, "motion-alert.json"), "--json"], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      verification: string;
      targets: { would: { topic: string; retain: boolean; payload: string } }[];
    };
    expect(report.verification).toBe("ok");
    expect(report.targets.map((t) => [t.would.topic, t.would.retain])).toEqual([
      ["switchyard/meraki/motion_alert", false],
      ["switchyard/meraki/device/Q2FV-ABCD-1234/last_alert", true],
    ]);
    expect(JSON.parse(report.targets[0]?.would.payload ?? "")).toMatchObject({ device: "Porch camera", type: "motion_alert" });
    expect(r.stdout).not.toContain("meraki-secret");
  });

  it("the Meraki recipe's sample alert passes the route and becomes an ntfy message without the secret (dry run)", async () => {
    const args = ["test", "meraki", "-c", join(root, "examples/meraki-ntfy/switchyard.yaml")];
    const r = await runCli([...args, "--body", join(root, "examples/meraki-ntfy/alert-critical.json"), "--json"], env);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { verification: string; routeFilter: string; targets: { would: { body: string } }[] };
    expect(report.verification).toBe("ok");
    expect(report.routeFilter).toBe("pass");
    expect(report.targets[0]?.would.body).toBe("APs went down: My AP (Main Office)");
    expect(r.stdout).not.toContain("meraki-secret");
  });
});

/**
 * The recipes' READMEs, followed as written: every ```sh block that can run here (no Docker, no
 * daemon left running, no traffic off the machine) runs with `sh` from the repository's root,
 * and a ```text block right after it lists lines its output must contain ("…" marks a line
 * left out). `npx switchyard` must resolve to this package's own CLI, offline.
 */
interface Block {
  lang: string;
  text: string;
}

function blocks(markdown: string): Block[] {
  return [...markdown.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)].map((m) => ({ lang: m[1] ?? "", text: m[2] ?? "" }));
}

/** Not runnable here: containers, a daemon that would keep running, requests to a daemon, installs. */
function runsHere(script: string): boolean {
  const commands = script
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.replace(/^\s*(export\s+)?([A-Za-z_][A-Za-z0-9_]*=\S*\s+)*/, "").trim())
    .filter((c) => c !== "" && !c.startsWith("#"));
  return commands.every((c) => !/^(docker|curl|npm|cd)\b/.test(c) && !/\bswitchyard serve\b/.test(c));
}

function sh(script: string): Promise<{ code: number | null; out: string }> {
  return new Promise((done) => {
    const proc = spawn("sh", ["-e", "-c", script], {
      cwd: root,
      // Only what a fresh shell has: no SWITCHYARD_* leaking in, npx kept off the network.
      env: { PATH: process.env.PATH, HOME: process.env.HOME, npm_config_offline: "true", npm_config_update_notifier: "false" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    proc.stdout.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    proc.stderr.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    proc.once("close", (code) => done({ code, out }));
  });
}

describe("the recipes' READMEs, as written", () => {
  const runnable = recipes.flatMap((recipe) => {
    const all = blocks(readFileSync(join(root, "examples", recipe, "README.md"), "utf8"));
    return all.flatMap((b, i) => {
      if (b.lang !== "sh" || !runsHere(b.text)) return [];
      const next = all[i + 1];
      const expected = next?.lang === "text" ? next.text.split("\n").map((l) => l.trim()) : [];
      return [{ recipe, script: b.text, expected: expected.filter((l) => l !== "" && !l.includes("…")) }];
    });
  });

  it("every recipe has a command that runs here, and each says what to expect", () => {
    expect(new Set(runnable.map((r) => r.recipe))).toEqual(new Set(recipes));
    for (const r of runnable) if (/switchyard (check|test)\b/.test(r.script)) expect(r.expected.length, r.script).toBeGreaterThan(0);
  });

  it.each(runnable)(
    "examples/$recipe: $script",
    async ({ script, expected }) => {
      requireBuild();
      const r = await sh(script);
      expect(r.out).not.toMatch(/route filter: no\b/);
      expect(r.code, r.out).toBe(0);
      for (const line of expected) expect(r.out).toContain(line);
    },
    60_000,
  );
});

describe("the curl lines the READMEs tell users to type", () => {
  const docs = ["README.md", ...recipes.map((r) => `examples/${r}/README.md`)];
  /** Shell commands of the code blocks, continuation lines joined. */
  const commands = (file: string) =>
    blocks(readFileSync(join(root, file), "utf8"))
      .flatMap((b) => b.text.replace(/\\\n\s*/g, " ").split("\n"))
      .filter((line) => /^\s*curl\s/.test(line));

  it.each(docs)("%s: a JSON body sent with -d says it is JSON (curl's -d default is a form)", (file) => {
    for (const line of commands(file)) {
      if (!/(?:-d|--data(?:-binary|-raw)?)\s+'\s*[[{]/.test(line)) continue;
      expect(line, `${file}: ${line}`).toMatch(/-H\s+'Content-Type: application\/json'/i);
    }
  });
});
