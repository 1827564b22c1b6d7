import { spawn } from "node:child_process";
import { chmodSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI, post, requireBuild, runCli, startDaemon, tempDir, writeConfig } from "./harness.js";

/**
 * Starting the daemon where it cannot listen: a port in use, an address this host does not
 * have, admin on the port of listen. The start must fail as a whole, say which address and
 * where it was set, and exit with the documented code, so that systemd or Docker restart it.
 */

const EXIT_LISTEN = 3;
/** TEST-NET-1 (RFC 5737): never an address of this host. */
const FOREIGN_ADDRESS = "192.0.2.1";

/** A port some other process holds for the whole test. */
async function holdPort(): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port };
}

/** A port free right now (bound, read, released). */
async function freePort(): Promise<number> {
  const { server, port } = await holdPort();
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function canBind(port: number): Promise<boolean> {
  const server = createServer();
  const ok = await new Promise<boolean>((r) => {
    server.once("error", () => r(false));
    server.listen(port, "127.0.0.1", () => r(true));
  });
  if (ok) await new Promise<void>((r) => server.close(() => r()));
  return ok;
}

/** The unprivileged user a root test run drops to. */
const NOBODY = { uid: 65534, gid: 65534 };

/**
 * Only as root, which can drop to nobody (a non-root run may hold CAP_NET_BIND_SERVICE, which
 * cannot be told from here), and where port 1 is privileged (some container runtimes set
 * ip_unprivileged_port_start to 0).
 */
function privilegedPortsGuarded(): boolean {
  try {
    const start = Number(readFileSync("/proc/sys/net/ipv4/ip_unprivileged_port_start", "utf8").trim());
    return start > 1 && process.getuid?.() === 0;
  } catch {
    return false;
  }
}

/** `switchyard serve`, killed if it has not exited within `ms` (a daemon that stays up is the bug). */
async function serveUntilExit(args: string[], env: NodeJS.ProcessEnv = {}, ms = 20_000, user?: { uid: number; gid: number }) {
  requireBuild();
  const proc = spawn(process.execPath, [CLI, "serve", ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...user,
  });
  let stdout = "";
  let stderr = "";
  proc.stdout.setEncoding("utf8").on("data", (c: string) => {
    stdout += c;
  });
  proc.stderr.setEncoding("utf8").on("data", (c: string) => {
    stderr += c;
  });
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    proc.kill("SIGKILL");
  }, ms);
  const code = await new Promise<number | null>((r) => proc.once("close", (c) => r(c)));
  clearTimeout(timer);
  return { code, stdout, stderr, stayedUp: killed };
}

describe("e2e: a start that cannot listen", { timeout: 120_000 }, () => {
  let held: { server: Server; port: number };
  beforeAll(async () => {
    held = await holdPort();
  });
  afterAll(async () => {
    await new Promise<void>((r) => held.server.close(() => r()));
  });

  it("admin port taken: the already bound listener is closed, nothing stays up, exit 3 naming server.admin and its line", async () => {
    const dir = tempDir();
    const listenPort = await freePort();
    const file = writeConfig(
      dir,
      `server:
  listen: 127.0.0.1:${listenPort}
  admin: 127.0.0.1:${held.port}
store: { path: ./data/sy.db }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    const r = await serveUntilExit(["-c", file]);
    expect(r.stayedUp).toBe(false);
    expect(r.code).toBe(EXIT_LISTEN);
    expect(r.stderr).toContain(`switchyard: cannot listen on 127.0.0.1:${held.port}: address in use (server.admin in ${file}:3)`);
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace
    // The webhook port is free again: no zombie answering 503 behind it.
    expect(await canBind(listenPort)).toBe(true);
  });

  it("listen port taken: says where it was set, exit 3, no stack trace", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `server:\n  listen: 127.0.0.1:${held.port}\nstore: { path: ./sy.db }\nroutes: []\n`);
    const r = await serveUntilExit(["-c", file]);
    expect(r.code).toBe(EXIT_LISTEN);
    expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${held.port}: address in use (server.listen in ${file}:2)`);
    expect(r.stderr).not.toContain("unexpected error");
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it("an address this host does not have: address not available", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, "store: { path: ./sy.db }\nroutes: []\n");
    const r = await serveUntilExit(["-c", file, "--listen", `${FOREIGN_ADDRESS}:8080`, "--admin", "127.0.0.1:0"]);
    expect(r.code).toBe(EXIT_LISTEN);
    expect(r.stderr).toContain(`cannot listen on ${FOREIGN_ADDRESS}:8080: address not available (--listen)`);
  });

  it.skipIf(!privilegedPortsGuarded())("a privileged port without the right to it: permission denied", async () => {
    const dir = tempDir();
    // Run as an unprivileged user: as root, ports below 1024 are allowed.
    const asRoot = process.getuid?.() === 0;
    if (asRoot) chmodSync(dir, 0o777);
    const file = writeConfig(dir, "store: { path: ./sy.db }\nroutes: []\n");
    if (asRoot) chmodSync(file, 0o644);
    const r = await serveUntilExit(["-c", file, "--listen", "127.0.0.1:1"], {}, 20_000, asRoot ? NOBODY : undefined);
    expect(r.code, r.stderr).toBe(EXIT_LISTEN);
    expect(r.stderr).toContain(
      "cannot listen on 127.0.0.1:1: permission denied (--listen); ports below 1024 need root or CAP_NET_BIND_SERVICE",
    );
  });

  it("--listen beats SWITCHYARD_LISTEN beats server.listen, and errors name the one used", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `server:\n  listen: 127.0.0.1:${held.port}\nstore: { path: ./sy.db }\nroutes:\n  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }\n`,
    );
    const fromEnv = await serveUntilExit(["-c", file], { SWITCHYARD_LISTEN: `127.0.0.1:${held.port}` });
    expect(fromEnv.code).toBe(EXIT_LISTEN);
    expect(fromEnv.stderr).toContain("(SWITCHYARD_LISTEN)");

    // The file's port is taken; the variable's is free: the variable wins.
    const port = await freePort();
    const daemon = await startDaemon(file, { SWITCHYARD_LISTEN: `127.0.0.1:${port}` });
    try {
      expect(daemon.url).toBe(`http://127.0.0.1:${port}`);
      expect((await post(`${daemon.url}/hooks/demo`, "{}")).status).toBe(202);
    } finally {
      await daemon.stop();
    }

    // The flag wins over both.
    const byFlag = await serveUntilExit(["-c", file, "--listen", `127.0.0.1:${held.port}`], { SWITCHYARD_LISTEN: "127.0.0.1:0" });
    expect(byFlag.stderr).toContain("(--listen)");
    expect(byFlag.code).toBe(EXIT_LISTEN);
  });

  it("SWITCHYARD_ADMIN sets the admin address, and admin may be omitted only when the effective listen is loopback", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, "server:\n  listen: 127.0.0.1:0\nstore: { path: ./sy.db }\nroutes: []\n");
    const open = await runCli(["check", "-c", file], { SWITCHYARD_LISTEN: "0.0.0.0:0" });
    expect(open.code).toBe(1);
    expect(open.stderr).toContain("server: admin is required when listen is not loopback");
    expect(open.stderr).toContain("listen is 0.0.0.0:0");
    const refused = await serveUntilExit(["-c", file, "--listen", "0.0.0.0:0"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("admin is required");
    expect((await runCli(["check", "-c", file], { SWITCHYARD_LISTEN: "0.0.0.0:0", SWITCHYARD_ADMIN: "127.0.0.1:0" })).code).toBe(0);
    const bad = await runCli(["check", "-c", file, "--admin", "metrics"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('server.admin: (from --admin) "metrics" is not an address');

    const adminPort = await freePort();
    const daemon = await startDaemon(file, { SWITCHYARD_ADMIN: `127.0.0.1:${adminPort}` });
    try {
      expect((await fetch(`http://127.0.0.1:${adminPort}/healthz`)).status).toBe(200);
    } finally {
      await daemon.stop();
    }
  });

  it("check refuses admin on the port of listen, naming server.admin and its line; serve refuses to start", async () => {
    const dir = tempDir();
    const port = await freePort();
    const file = writeConfig(dir, `server:\n  listen: 0.0.0.0:${port}\n  admin: 127.0.0.1:${port}\nstore: { path: ./sy.db }\nroutes: []\n`);
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:3: server.admin: 127.0.0.1:${port} takes the port of server.listen (0.0.0.0:${port})`);
    const s = await serveUntilExit(["-c", file]);
    expect(s.stayedUp).toBe(false);
    expect(s.code).toBe(1);
    expect(s.stderr).toContain("server.admin");
    // The same through the flags: no line to name, the flag instead.
    const flags = await runCli(["check", "-c", file, "--listen", "127.0.0.1:7000", "--admin", "localhost:7000"]);
    expect(flags.code).toBe(1);
    expect(flags.stderr).toContain("server.admin: (from --admin) localhost:7000 takes the port of server.listen (127.0.0.1:7000)");
  });
});
