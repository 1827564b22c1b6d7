import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, post, type RunningDaemon, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The built daemon runs a command that backgrounds a child in its own process group and fails:
 * once the delivery is dead-lettered, none of the three attempts' children is still running.
 */

/** True while the process exists and is not a zombie (this machine's PID 1 may not reap orphans). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

describe("e2e: what an exec command leaves behind", () => {
  let daemon: RunningDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
  });

  it("ends each attempt's process group when the command exits: no sleep survives a dead-lettered delivery", async () => {
    const dir = tempDir("switchyard-leftovers-");
    const pids = join(dir, "pids");
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data.db }
routes:
  - name: job
    path: /job
    verify: { type: none }
    targets:
      - name: run
        type: exec
        # An explicit shell, as a user would write it: the sleep stays in the command's group.
        command: [/bin/sh, -c, 'sleep 120 & echo $! >> "$0"; exit 1', ${JSON.stringify(pids)}]
        timeout: 30s
        retry: { attempts: 3, backoff: 50ms, max_backoff: 100ms }
`,
    );
    daemon = await startDaemon(file);
    const d = daemon;
    expect((await post(`${d.url}/job`, "{}")).status).toBe(202);
    await waitFor(
      async () => metric(await (await fetch(`${d.adminUrl}/metrics`)).text(), "switchyard_deliveries_total", { outcome: "dead" }) === 1,
      "the delivery to be dead-lettered",
      30_000,
    );
    const started = readFileSync(pids, "utf8").trim().split("\n").map(Number);
    expect(started).toHaveLength(3);
    expect(started.filter(alive)).toEqual([]);
  }, 60_000);
});

describe("e2e: exec files a killed daemon left behind", () => {
  const { track, later } = cleanupAfterEach();

  it("the next start removes the folder of a daemon killed mid-run, and not a live daemon's", async () => {
    const dir = tempDir("switchyard-stale-files-");
    // The daemons' own temporary folder, so that nothing of another test's is looked at.
    const tmp = join(dir, "tmp");
    mkdirSync(tmp);
    const mark = join(dir, "mark");
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data.db }
routes:
  - name: job
    path: /job
    verify: { type: none }
    targets:
      - name: run
        type: exec
        # The first run writes down its file's path and waits to be killed with the daemon; a rerun ends at once.
        command: [/bin/sh, -c, '[ -e "$0.done" ] && exit 0; : > "$0.done"; echo "$PAYLOAD" > "$0"; echo $$ > "$0.pid"; exec sleep 60', ${JSON.stringify(mark)}]
        files: { PAYLOAD: body.secret }
        timeout: 2m
`,
    );
    const env = { TMPDIR: tmp };
    // A folder another running daemon (this test's own process stands for it) is using.
    const live = join(tmp, `switchyard-files-${process.pid}-AbC123`);
    mkdirSync(live);
    writeFileSync(join(live, "PAYLOAD"), "in use");

    const first = await startDaemon(file, env);
    later(() => {
      // The command this test started, by its pid, if it outlived its daemon.
      const pid = Number(existsSync(`${mark}.pid`) ? readFileSync(`${mark}.pid`, "utf8") : Number.NaN);
      if (Number.isSafeInteger(pid)) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // Already gone.
        }
      }
    });
    expect((await post(`${first.url}/job`, '{"secret":"s3cret"}')).status).toBe(202);
    const path = await waitFor(() => existsSync(mark) && readFileSync(mark, "utf8").trim(), "the command to run", 30_000);
    const stale = dirname(path);
    expect(basename(stale)).toMatch(new RegExp(`^switchyard-files-${first.proc.pid}-`));
    await first.stop("SIGKILL");
    expect(readFileSync(join(stale, "PAYLOAD"), "utf8")).toBe("s3cret");

    const second = track(await startDaemon(file, env));
    expect(existsSync(stale)).toBe(false);
    expect(second.logs.some((l) => l.msg === "removed exec files folders left by a daemon that is no longer running")).toBe(true);
    expect(readFileSync(join(live, "PAYLOAD"), "utf8")).toBe("in use");
    // The rerun of the interrupted delivery leaves nothing either.
    await waitFor(async () => {
      const m = await (await fetch(`${second.adminUrl}/metrics`)).text();
      return metric(m, "switchyard_deliveries_total", { outcome: "success" }) === 1;
    }, "the interrupted delivery to run again");
    await waitFor(() => readdirSync(tmp).length === 1, "only the live daemon's folder to remain");
    expect(readdirSync(tmp)).toEqual([basename(live)]);
  }, 90_000);
});
