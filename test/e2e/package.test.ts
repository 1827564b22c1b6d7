import { spawn } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LogLine, tempDir, waitFor } from "./harness.js";

/**
 * The round trip a user of the published package makes: `npm pack` from a clean clone (no dist/),
 * `npm i -g` of the tarball into a fresh prefix, then the installed `switchyard` run from a
 * folder outside the repository. It proves the tarball carries the compiled CLI and everything it
 * loads at run time (config worker, exec helper, the SQLite addon built on install).
 */

const REPO = resolve(import.meta.dirname, "../..");
const PKG = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { name: string; version: string };

/** What a clean clone holds that the build needs; dist/ is deliberately absent. */
const CLONE_ENTRIES = [
  "package.json",
  "package-lock.json",
  "tsconfig.json",
  "tsconfig.build.json",
  "README.md",
  "LICENSE",
  "src",
  "console",
  "config",
  "examples",
];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * The environment of a user's shell: `npm test` exports npm_* variables (the repository as the
 * package, its prefix) that would steer a nested npm back into the clone.
 */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) || key === "INIT_CWD") continue;
    env[key] = value;
  }
  // The node running the tests first on PATH: the installed bin's `#!/usr/bin/env node` finds it.
  env.PATH = `${dirname(process.execPath)}:${process.env.PATH ?? ""}`;
  return { ...env, ...extra };
}

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = userEnv()): Promise<Run> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    proc.stdout.setEncoding("utf8").on("data", (c: string) => {
      stdout += c;
    });
    proc.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    proc.once("error", reject);
    proc.once("close", (code) => resolveRun({ code, stdout, stderr }));
  });
}

describe("the npm package", () => {
  const root = tempDir("switchyard-package-");
  const clone = join(root, "clone");
  const prefix = join(root, "prefix");
  const work = join(root, "work");
  const bin = join(prefix, "bin", "switchyard");
  const installed = join(prefix, "lib", "node_modules", PKG.name);
  let files: string[] = [];
  let tarball = "";

  beforeAll(async () => {
    mkdirSync(clone);
    mkdirSync(work);
    for (const entry of CLONE_ENTRIES) {
      if (existsSync(join(REPO, entry))) cpSync(join(REPO, entry), join(clone, entry), { recursive: true });
    }
    // The dev dependencies `npm ci` installed (tsc for prepack), without installing them again.
    symlinkSync(realpathSync(join(REPO, "node_modules")), join(clone, "node_modules"), "dir");

    const pack = await run("npm", ["pack", "--json", "--pack-destination", root], clone);
    expect(pack.code, pack.stderr).toBe(0);
    const [packed] = JSON.parse(pack.stdout) as { filename: string; files: { path: string }[] }[];
    if (!packed) throw new Error(`npm pack printed no package: ${pack.stdout}`);
    files = packed.files.map((f) => f.path).sort();
    tarball = join(root, packed.filename);

    // As `npm i -g` would, into a prefix of its own. --prefer-offline takes the dependencies from
    // the cache `npm ci` filled; better-sqlite3 compiles from source against the machine's Node
    // headers instead of trying to download a prebuilt binary first.
    const install = await run(
      "npm",
      ["install", "--global", "--prefix", prefix, "--prefer-offline", "--no-audit", "--no-fund", tarball],
      work,
      userEnv({ npm_config_build_from_source: "better-sqlite3" }),
    );
    expect(install.code, `${install.stdout}\n${install.stderr}`).toBe(0);
  }, 900_000);

  // The prefix holds a full install with a compiled addon: too big to leave behind in /tmp.
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("ships the compiled CLI, its run-time entry points and the examples, and nothing else", () => {
    for (const needed of [
      "package.json",
      "README.md",
      "dist/src/main.js",
      "dist/src/config/load-worker.js",
      "dist/src/plugins/targets/exec/helper-main.js",
      "dist/console/index.html",
      "config/switchyard.yaml",
      "examples/github-deploy/switchyard.yaml",
    ]) {
      expect(files).toContain(needed);
    }
    const stray = files.filter(
      (f) =>
        !(
          ["package.json", "README.md", "LICENSE", "config/switchyard.yaml"].includes(f) ||
          f.startsWith("examples/") ||
          (f.startsWith("dist/src/") && f.endsWith(".js")) ||
          /^dist\/console\/(index\.html|favicon\.svg|assets\/index-[\w-]+\.(js|css))$/.test(f)
        ),
    );
    expect(stray).toEqual([]);
    // The README's table generator is a development tool, not part of the CLI.
    expect(files.filter((f) => f.startsWith("dist/src/docs/"))).toEqual([]);
  });

  it("installs a `switchyard` that reports its version", async () => {
    const version = await run(bin, ["--version"], work);
    expect(version.code, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(PKG.version);
  });

  it("checks the shipped example", async () => {
    const check = await run(bin, ["check", "-c", join(installed, "config", "switchyard.yaml")], work);
    expect(check.code, check.stderr).toBe(0);
    expect(check.stdout).toContain("ok (1 route, 1 target)");
  });

  it("serves the shipped example on port 0: /healthz answers and an event reaches the exec target", async () => {
    // A copy next to its data, as a user would start from it; paths in it are relative to its folder.
    mkdirSync(join(work, "config"), { recursive: true });
    cpSync(join(installed, "config", "switchyard.yaml"), join(work, "config", "switchyard.yaml"));
    const proc = spawn(bin, ["serve", "-c", "config/switchyard.yaml", "--listen", "127.0.0.1:0"], {
      cwd: work,
      env: userEnv(),
      stdio: ["ignore", "pipe", "pipe"],
    });
    const logs: LogLine[] = [];
    let stderr = "";
    let buffered = "";
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        try {
          logs.push(JSON.parse(line) as LogLine);
        } catch {
          stderr += `${line}\n`;
        }
      }
    });
    proc.stderr.setEncoding("utf8").on("data", (c: string) => {
      stderr += c;
    });
    let exitCode: number | null | undefined;
    proc.once("error", (error) => {
      stderr += `${error.message}\n`;
      exitCode = null;
    });
    const exited = new Promise<number | null>((r) =>
      proc.once("exit", (code) => {
        exitCode = code;
        r(code);
      }),
    );
    try {
      const started = await waitFor(() => {
        if (exitCode !== undefined) throw new Error(`serve exited with ${exitCode}: ${stderr}`);
        return logs.find((l) => l.msg === "switchyard started");
      }, "the installed daemon to start");
      const url = `http://127.0.0.1:${(started.listen as AddressInfo).port}`;

      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      // The console is built on pack and served from the package: the page and its bundle.
      const page = await fetch(`${url}/`, { headers: { accept: "text/html" } });
      expect(page.status).toBe(200);
      const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await page.text())?.[1];
      expect(script).toBeDefined();
      expect((await fetch(`${url}${script}`)).status).toBe(200);

      const posted = await fetch(`${url}/hooks/demo`, {
        method: "POST",
        headers: { authorization: "Bearer dev-token", "content-type": "application/json" },
        body: JSON.stringify({ hello: "from the tarball" }),
      });
      expect(posted.status).toBe(202);
      const events = join(work, "data", "demo-events.jsonl");
      await waitFor(
        () => existsSync(events) && readFileSync(events, "utf8").includes("from the tarball"),
        "the exec target to write the event",
        30_000,
      );
    } finally {
      if (exitCode === undefined) proc.kill("SIGTERM");
    }
    // SIGTERM drains and exits 0, as it does from a clone.
    expect(await exited).toBe(0);
  });
});
