import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, requireBuild, tempDir, waitFor, writeConfig } from "./e2e/harness.js";

/**
 * Daemons in one process, as tests run them. The built Daemon is used: only the built daemon
 * starts its commands in the exec helper process (from the sources they run in process).
 */
const BUILT_DAEMON = resolve(import.meta.dirname, "../dist/src/daemon.js");
type DaemonModule = typeof import("../src/daemon.js");
type Daemon = Awaited<ReturnType<DaemonModule["Daemon"]["start"]>>;

/** Writes the pid of the process that started it (the exec helper) to a file named after the event. */
const RECORD_PARENT = `#!/bin/sh
echo "$PPID" > "$1/$SWITCHYARD_EVENT_ID"
`;

/** True while the process exists and is not a zombie. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

interface Instance {
  daemon: Daemon;
  url: string;
  out: string;
}

async function startInstance(Daemon: DaemonModule["Daemon"], dir: string): Promise<Instance> {
  const out = join(dir, "runs");
  mkdirSync(out);
  writeFileSync(join(dir, "record.sh"), RECORD_PARENT);
  chmodSync(join(dir, "record.sh"), 0o755);
  const configFile = writeConfig(
    dir,
    `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: hook
    path: /hook
    verify: { type: none }
    targets:
      - name: record
        type: exec
        command: [./record.sh, ${JSON.stringify(out)}]
`,
  );
  const daemon = await Daemon.start({ configFile, log: pino({ level: "silent" }), watch: false });
  const port = daemon.listenAddress?.port;
  if (port === undefined) throw new Error("the daemon did not listen");
  return { daemon, url: `http://127.0.0.1:${port}/hook`, out };
}

/** Posts one webhook and returns the pid of the process that ran its command. */
async function deliverOne(instance: Instance): Promise<number> {
  const before = new Set(readdirSync(instance.out));
  const res = await post(instance.url, "{}");
  expect(res.status).toBe(202);
  const file = await waitFor(() => readdirSync(instance.out).find((f) => !before.has(f)), "the command's run", 30_000);
  const text = await waitFor(() => {
    const t = readFileSync(join(instance.out, file), "utf8").trim();
    return t === "" ? undefined : t;
  }, "the command's output");
  return Number(text);
}

describe("two daemons in one process", () => {
  const dirs: string[] = [];
  let a: Instance | undefined;
  let b: Instance | undefined;

  beforeAll(async () => {
    requireBuild();
    const { Daemon } = (await import(BUILT_DAEMON)) as DaemonModule;
    for (let i = 0; i < 2; i++) dirs.push(tempDir("switchyard-daemon-"));
    a = await startInstance(Daemon, dirs[0] ?? "");
    b = await startInstance(Daemon, dirs[1] ?? "");
  }, 60_000);

  afterAll(async () => {
    await a?.daemon.stop();
    await b?.daemon.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it("each run their commands in an exec helper of their own, which ends with its daemon only", async () => {
    if (!a || !b) throw new Error("the daemons did not start");
    const helperA = await deliverOne(a);
    const helperB = await deliverOne(b);
    expect(helperA).not.toBe(process.pid);
    expect(helperB).not.toBe(process.pid);
    expect(helperA).not.toBe(helperB);

    await a.daemon.stop();
    await waitFor(() => !running(helperA), "the stopped daemon's exec helper to exit", 30_000);
    expect(running(helperB)).toBe(true);
    // The other daemon still runs commands, in the same helper as before.
    expect(await deliverOne(b)).toBe(helperB);
  }, 90_000);
});
