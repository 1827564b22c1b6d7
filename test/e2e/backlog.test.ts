import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, post, runCli, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A long backlog: retries must not flood the log, and finished events must be pruned often
 * enough that the store stops growing, with a `store.retention` that a reload applies.
 */

const TOKEN = "backlog-token";
const auth = { authorization: `Bearer ${TOKEN}` };

function configText(sinkUrl: string, retention: string, retry = "{ attempts: 2 }"): string {
  return `
server: { listen: 127.0.0.1:0, shutdown_timeout: 2s }
store: { path: ./data/switchyard.db, retention: ${retention} }
routes:
  - name: hooks
    path: /hooks
    verify: { type: token, secret: ${TOKEN} }
    targets:
      - { name: sink, type: http, url: "${sinkUrl}/in", timeout: 2s, retry: ${retry} }
`;
}

async function storedEvents(file: string): Promise<number> {
  const r = await runCli(["events", "--limit", "100000", "--json", "-c", file]);
  return (JSON.parse(r.stdout) as unknown[]).length;
}

describe("e2e: a long backlog", () => {
  const { track } = cleanupAfterEach();

  it("warns once per failing delivery, not once per retry", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    let attempts = 0;
    sink.respond = (_req, res) => {
      attempts++;
      res.writeHead(503).end("down");
    };
    const file = writeConfig(dir, configText(sink.url, "7d", "{ attempts: 20, backoff: 10ms, max_backoff: 30ms }"));
    const daemon = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    for (let i = 0; i < 10; i++) expect((await post(`${daemon.url}/hooks`, JSON.stringify({ i }), auth)).status).toBe(202);
    await waitFor(
      () => daemon.logs.filter((l) => l.msg.includes("kept in the dead-letter queue")).length === 10,
      "10 dead letters",
      60_000,
    );
    expect(attempts).toBe(200);
    const retryLines = daemon.logs.filter((l) => l.msg.includes("retry scheduled"));
    expect(retryLines).toHaveLength(10);
    for (const l of retryLines) expect(l).toMatchObject({ level: "warn", attempt: 1 });
  }, 90_000);

  it("prunes finished events every few seconds under steady traffic, and applies a new retention on reload", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const file = writeConfig(dir, configText(sink.url, "1h"));
    const daemon = track(await startDaemon(file, { SWITCHYARD_LOG_LEVEL: "info" }));
    let sent = 0;
    const send = async (n: number) => {
      for (let i = 0; i < n; i++) expect((await post(`${daemon.url}/hooks`, JSON.stringify({ n: sent++ }), auth)).status).toBe(202);
    };
    await send(20);
    await waitFor(() => sink.requests.length === 20, "20 deliveries");
    expect(await storedEvents(file)).toBe(20);

    // A shorter retention, applied by a reload: the delivered events go within seconds.
    writeFileSync(file, configText(sink.url, "2s"));
    daemon.proc.kill("SIGHUP");
    await waitFor(() => daemon.logs.some((l) => l.msg === "config reloaded"), "the reload");
    expect(daemon.logs.some((l) => l.msg.includes("take effect only after a restart"))).toBe(false);
    await waitFor(async () => (await storedEvents(file)) === 0, "the delivered events to be pruned", 20_000);

    // Steady traffic for a while: the store holds about one retention's worth, not everything.
    for (let round = 0; round < 8; round++) {
      await send(5);
      await new Promise((r) => setTimeout(r, 1_000));
    }
    // Pruned while the traffic went on: at most the last few seconds' events are left.
    expect(await storedEvents(file)).toBeLessThanOrEqual(sent - 15);
  }, 90_000);
});
