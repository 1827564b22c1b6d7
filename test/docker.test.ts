import { spawn } from "node:child_process";
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI, finished, runCli, startDaemon, tempDir, writeConfig } from "./e2e/harness.js";

/**
 * The container image, checked without Docker (these machines have none): the Dockerfile's
 * steps refer to files that exist, the health check follows the config's admin address, and
 * the entry point explains an empty /config and an unwritable /data in Docker's terms.
 */

const root = resolve(import.meta.dirname, "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const ignored = readFileSync(join(root, ".dockerignore"), "utf8")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));
/** Instructions with their continuation lines joined. */
const instructions = dockerfile
  .replace(/\\\n/g, " ")
  .split("\n")
  .map((l) => l.trim())
  .filter((l) => l !== "" && !l.startsWith("#"));

function run(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number; gid?: number; cwd?: string } = {}) {
  return finished(spawn(cmd, args, { env: opts.env, uid: opts.uid, gid: opts.gid, cwd: opts.cwd, stdio: ["ignore", "pipe", "pipe"] }));
}

function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

describe("Dockerfile", () => {
  it("builds on a supported Node LTS line, not Node 20", () => {
    const bases = instructions.filter((l) => l.startsWith("FROM ")).map((l) => l.split(/\s+/)[1] ?? "");
    expect(bases.length).toBeGreaterThan(0);
    for (const base of bases) expect(base).toMatch(/^node:(22|24)[.-]/);
  });

  it("copies only files that exist and that .dockerignore lets through, and no benchmarks", () => {
    const copies = instructions.filter((l) => l.startsWith("COPY ") && !l.includes("--from="));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.split(/\s+/).slice(1, -1);
      for (const source of sources) {
        expect(existsSync(join(root, source)), `${copy}: ${source}`).toBe(true);
        expect(
          ignored.some((pattern) => source === pattern || source.startsWith(`${pattern}/`)),
          `${source} is in .dockerignore`,
        ).toBe(false);
        expect(source).not.toMatch(/^bench/);
      }
    }
    // The build stage's tsc config compiles src alone.
    expect(dockerfile).toMatch(/tsc -p tsconfig\.build\.json/);
  });

  it("lays out /app as the image does (package.json, node_modules, dist/src, no benchmarks), and it runs", async () => {
    const app = tempDir("switchyard-image-");
    const dist = join(app, "dist");
    const r = await run(process.execPath, [
      join(root, "node_modules/typescript/bin/tsc"),
      "-p",
      join(root, "tsconfig.build.json"),
      "--outDir",
      dist,
    ]);
    expect(r.stdout + r.stderr).toBe("");
    expect(readdirSync(dist)).toEqual(["src"]);
    copyFileSync(join(root, "package.json"), join(app, "package.json"));
    symlinkSync(join(root, "node_modules"), join(app, "node_modules"));
    copyFileSync(join(root, "docker/entrypoint.sh"), join(app, "entrypoint.sh"));
    const version = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { version: string }).version;
    const v = await run("sh", [join(app, "entrypoint.sh"), "--version"], {
      env: { PATH: process.env.PATH, SWITCHYARD_APP: join(dist, "src/main.js") },
    });
    expect(v.stderr).toBe("");
    expect(v.stdout.trim()).toBe(version);
  }, 120_000);

  it("runs the entry point it copies, executable, and probes health with the CLI", () => {
    expect(instructions).toContain("COPY docker/entrypoint.sh ./docker/entrypoint.sh");
    expect(instructions.find((l) => l.startsWith("ENTRYPOINT "))).toContain("/app/docker/entrypoint.sh");
    expect(statSync(join(root, "docker/entrypoint.sh")).mode & 0o111).toBe(0o111);
    expect(instructions.find((l) => l.startsWith("HEALTHCHECK "))).toMatch(/CMD \["node", "\/app\/dist\/src\/main\.js", "health"\]$/);
    expect(dockerfile).not.toContain("9090/healthz");
  });
});

describe("switchyard health (the image's health check)", () => {
  it("asks /healthz on the config's admin port, whatever it is, and fails once the daemon is gone", async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(
      dir,
      `server: { listen: 127.0.0.1:0, admin: "0.0.0.0:${port}" }
store: { path: ./data/switchyard.db }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    const daemon = await startDaemon(file);
    try {
      const ok = await runCli(["health", "-c", file]);
      expect(ok.stderr).toBe("");
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain(`http://127.0.0.1:${port}/healthz: ok`);
    } finally {
      await daemon.stop();
    }
    const down = await runCli(["health", "-c", file]);
    expect(down.code).toBe(1);
    expect(down.stderr).toContain(`cannot reach http://127.0.0.1:${port}/healthz`);
  });

  it("uses listen when there is no admin address, and SWITCHYARD_CONFIG as the image sets it", async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(
      dir,
      `server: { listen: "127.0.0.1:${port}" }
store: { path: ./data/switchyard.db }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    const daemon = await startDaemon(file);
    try {
      const r = await runCli(["health"], { SWITCHYARD_CONFIG: file });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`http://127.0.0.1:${port}/healthz: ok`);
    } finally {
      await daemon.stop();
    }
  });
});

describe("switchyard health with SWITCHYARD_ADMIN and a broken edit", () => {
  it("follows SWITCHYARD_ADMIN as serve does, and keeps passing while a broken edit leaves the daemon on its last good config", async () => {
    const dir = tempDir();
    const port = await freePort();
    const body = `server: { listen: 127.0.0.1:0, admin: "127.0.0.1:9" }
store: { path: ./data/switchyard.db }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`;
    const file = writeConfig(dir, body);
    const env = { SWITCHYARD_ADMIN: `127.0.0.1:${port}` };
    const daemon = await startDaemon(file, env);
    try {
      const ok = await runCli(["health", "-c", file], env);
      expect(ok.stdout).toContain(`http://127.0.0.1:${port}/healthz: ok`);
      expect(ok.code).toBe(0);
      // An unknown verify type and a YAML error further down: the daemon keeps serving, so health passes.
      writeFileSync(file, `${body.replace("type: none", "type: nonsense")}  - [unclosed\n`);
      const still = await runCli(["health", "-c", file], env);
      expect(still.stderr).toBe("");
      expect(still.code).toBe(0);
    } finally {
      await daemon.stop();
    }
  });
});

describe("the image's entry point", () => {
  const entrypoint = join(root, "docker/entrypoint.sh");
  const env = (dir: string, extra: NodeJS.ProcessEnv = {}) => ({
    PATH: process.env.PATH,
    SWITCHYARD_APP: CLI,
    SWITCHYARD_CONFIG: join(dir, "config/switchyard.yaml"),
    SWITCHYARD_DATA_DIR: join(dir, "data"),
    ...extra,
  });

  it("with nothing mounted at /config, says what to mount instead of 'file not found'", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "config"));
    mkdirSync(join(dir, "data"));
    const r = await run("sh", [entrypoint], { env: env(dir) });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`no config file at ${join(dir, "config/switchyard.yaml")}`);
    expect(r.stderr).toContain(`Mount the folder that holds your switchyard.yaml at ${join(dir, "config")}`);
    expect(r.stderr).toContain(`-v "$PWD/myconfig:${join(dir, "config")}:ro"`);
    expect(r.stderr).not.toMatch(/file not found/);
  });

  it("with a /data its user cannot write, prints the chown to run on the host", async () => {
    const dir = tempDir();
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, "config"), { mode: 0o755 });
    mkdirSync(join(dir, "data"), { mode: 0o755 });
    writeFileSync(join(dir, "config/switchyard.yaml"), "routes: []\n", { mode: 0o644 });
    const script = join(dir, "entrypoint.sh");
    copyFileSync(entrypoint, script);
    chmodSync(script, 0o755);
    // Root writes anywhere: run as nobody then, as the image runs as `node`. Otherwise make it read-only.
    const asRoot = process.getuid?.() === 0;
    if (!asRoot) chmodSync(join(dir, "data"), 0o555);
    const who = asRoot ? { uid: 65534, gid: 65534 } : {};
    const r = await run("sh", [script], { env: env(dir), ...who });
    chmodSync(join(dir, "data"), 0o755);
    expect(r.code).toBe(1);
    const uid = asRoot ? 65534 : process.getuid?.();
    expect(r.stderr).toContain(`${join(dir, "data")}: not writable by this container's user (uid ${uid}`);
    expect(r.stderr).toMatch(new RegExp(`sudo chown -R ${uid}:\\d+ /path/to/the/host/folder`));
    expect(r.stderr).toContain("-v switchyard-data:");
  });

  it("hands other verbs and a good setup to the CLI", async () => {
    const dir = tempDir();
    mkdirSync(join(dir, "config"));
    mkdirSync(join(dir, "data"));
    const config = join(dir, "config/switchyard.yaml");
    writeFileSync(
      config,
      `routes:\n  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }\n`,
    );
    const check = await run("sh", [entrypoint, "check"], { env: env(dir) });
    expect(check.stderr).toBe("");
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`${config}: ok`);
  });
});
