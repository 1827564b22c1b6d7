import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

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
