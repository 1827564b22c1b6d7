import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, post, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The daemon keeps V8's young generation small and collects its old one before it has grown
 * far past what is live (src/heap-tuning.ts): under a burst of webhooks the defaults let the
 * process reach 220 MiB resident for a 30 MiB live heap. The young generation's size is what
 * /metrics shows and what does not depend on how loaded the machine is, so that is what is
 * checked here; the peak under the bench's burst is in BENCHMARKS.md.
 */

const push = readFileSync(join(import.meta.dirname, "../fixtures/github-push.json"));
const EVENTS = 300;
const LANES = 8;
const MiB = 2 ** 20;

function config(dir: string, sinkUrl: string): string {
  return writeConfig(
    dir,
    `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: github
    path: /hooks/github
    verify: { type: none }
    filter: headers."x-github-event" = "push" and $exists(body.repository)
    targets:
      - { name: sink, type: http, url: "${sinkUrl}/deliver" }
`,
  );
}

/** Sends EVENTS pushes over LANES concurrent lanes and waits until the sink has them all. */
async function burst(url: string, delivered: () => number): Promise<void> {
  let sent = 0;
  const lane = async () => {
    while (sent < EVENTS) {
      sent++;
      const res = await post(`${url}/hooks/github`, push, { "x-github-event": "push" });
      expect(res.status).toBe(202);
    }
  };
  await Promise.all(Array.from({ length: LANES }, lane));
  await waitFor(() => delivered() >= EVENTS, "every event to be delivered", 60_000);
}

async function newSpaceBytes(adminUrl: string): Promise<number> {
  const text = await (await fetch(`${adminUrl}/metrics`)).text();
  const bytes = metric(text, "nodejs_heap_space_size_total_bytes", { space: "new" });
  if (bytes === undefined) throw new Error("no new-space size in /metrics");
  return bytes;
}

describe("e2e: the daemon's heap stays small under a burst", () => {
  const { track } = cleanupAfterEach();

  it("keeps the young generation at 4 MiB semi-spaces through start-up and a burst of deliveries", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const daemon = track(await startDaemon(config(dir, sink.url)));
    await burst(daemon.url, () => sink.requests.length);
    // V8's default lets it grow to 32 MiB (two 16 MiB semi-spaces) while the modules load.
    expect(await newSpaceBytes(daemon.adminUrl)).toBeLessThanOrEqual(8 * MiB);
  }, 120_000);

  it("leaves the heap as the user tuned it with NODE_OPTIONS", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const daemon = track(await startDaemon(config(dir, sink.url), { NODE_OPTIONS: "--max-semi-space-size=8" }));
    await burst(daemon.url, () => sink.requests.length);
    // Loading the modules alone grows it to the user's maximum: two 8 MiB semi-spaces.
    expect(await newSpaceBytes(daemon.adminUrl)).toBeGreaterThan(8 * MiB);
  }, 120_000);
});
