import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { Pruner } from "../../src/store/pruner.js";
import { SqliteStore } from "../../src/store/sqlite/sqlite-store.js";

async function until(what: () => boolean, label: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !what(); ) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${label}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("Pruner", () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it("logs a prune that keeps failing (the store is down) once a minute, not once a run", async () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-pruner-"));
    dirs.push(dir);
    const store = SqliteStore.open(join(dir, "s.db"));
    await store.close();
    let runs = 0;
    const prune = store.prune.bind(store);
    store.prune = (before, now) => {
      runs++;
      return prune(before, now);
    };
    const lines: { msg: string }[] = [];
    const log = pino({ level: "debug" }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const pruner = new Pruner({ store, log, retentionMs: () => 60_000 });
    try {
      pruner.start();
      for (let want = 2; want <= 5; want++) {
        await until(() => runs >= want - 1, `prune run ${want - 1}`);
        // A reload's runSoon(): one run after the one in progress.
        pruner.runSoon();
      }
      await until(() => runs >= 5, "five prune runs");
    } finally {
      pruner.stop();
    }
    expect(lines.filter((l) => l.msg === "pruning failed; will try again")).toHaveLength(1);
  });
});
