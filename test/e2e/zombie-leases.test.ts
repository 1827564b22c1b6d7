import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { afterAll, describe, expect, it } from "vitest";
import {
  CLI,
  post,
  type RunningDaemon,
  requireBuild,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * kill -9 of a daemon whose parent does not reap it (as PID 1 in a container may not) leaves a
 * zombie with the daemon's pid. The next daemon on the same store must take it for dead and
 * give its leases back at once, not wait for them to expire.
 */

function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0];
  } catch {
    return undefined;
  }
}

describe("e2e: leases of a daemon that died as a zombie", () => {
  const started: ChildProcess[] = [];
  let sink: Sink | undefined;
  let second: RunningDaemon | undefined;
  afterAll(async () => {
    await second?.stop();
    for (const p of started) p.kill("SIGKILL");
    await sink?.close();
  });

  it("gives them back at start, and the delivery goes out again without waiting out the lease", async () => {
    requireBuild();
    const s = await startSink();
    sink = s;
    let hold = true;
    s.respond = async (_req, res) => {
      // The first daemon's delivery hangs until it is killed; the second one's is answered.
      if (hold) await new Promise(() => {});
      res.writeHead(200).end("ok");
    };
    const dir = tempDir("switchyard-zombie-");
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data.db }
routes:
  - name: hook
    path: /hook
    verify: { type: none }
    targets:
      # A lease of 10 min + 5 s: waiting it out would fail this test.
      - { name: slow, type: http, url: "${s.url}/in", timeout: 10m }
`,
    );
    // The first daemon, under a parent that becomes \`sleep\` and never reaps it.
    const parent = spawn("/bin/sh", ["-c", `"$0" "$1" serve -c "$2" & echo "pid $!" >&2; exec sleep 1000`, process.execPath, CLI, file], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH, HOME: process.env.HOME },
    });
    started.push(parent);
    let out = "";
    let err = "";
    parent.stdout?.setEncoding("utf8").on("data", (c: string) => {
      out += c;
    });
    parent.stderr?.setEncoding("utf8").on("data", (c: string) => {
      err += c;
    });
    const pid = Number(await waitFor(() => /pid (\d+)/.exec(err)?.[1], "the first daemon's pid"));
    const line = await waitFor(() => out.split("\n").find((l) => l.includes('"switchyard started"')), "the first daemon to start", 30_000);
    const listen = (JSON.parse(line) as { listen: AddressInfo }).listen;
    expect((await post(`http://127.0.0.1:${listen.port}/hook`, "{}")).status).toBe(202);
    await waitFor(() => s.maxInFlight >= 1, "the first delivery to reach the target");
    // Until sh has become sleep, sh itself would reap the daemon.
    await waitFor(() => readFileSync(`/proc/${parent.pid}/comm`, "utf8").trim() === "sleep", "the parent to become sleep");
    process.kill(pid, "SIGKILL");
    await waitFor(() => procState(pid) === "Z", "the first daemon to be a zombie");

    hold = false;
    second = await startDaemon(file);
    const d = second;
    const released = await waitFor(
      () => d.logs.find((l) => l.msg === "leases of a crashed previous run given back for delivery"),
      "the leases to be given back",
      30_000,
    );
    expect(released.released).toBe(1);
    await waitFor(() => s.requests.length === 1, "the delivery to go out again", 30_000);
  }, 90_000);
});
