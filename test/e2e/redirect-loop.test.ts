import { afterAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The built daemon delivering to a target whose Location points at itself: the delivery is
 * dead at once with "redirect loop" in its error, not retried like a network error.
 */
describe("e2e: a redirect loop", () => {
  let sink: Sink | undefined;
  let daemon: RunningDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  it("dead-letters the delivery at once, with the reason in the dead-letter queue", async () => {
    const s = await startSink();
    sink = s;
    let asked = 0;
    s.respond = (_req, res) => {
      asked++;
      res.writeHead(307, { Location: `${s.url}/hook` }).end();
    };
    const file = writeConfig(
      tempDir("switchyard-redirect-"),
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data.db }
routes:
  - name: hook
    path: /hook
    verify: { type: none }
    targets:
      - { name: loop, type: http, url: "${s.url}/hook", follow_redirects: true, retry: { attempts: 8, backoff: 50ms, max_backoff: 100ms } }
`,
    );
    daemon = await startDaemon(file);
    const d = daemon;
    expect((await post(`${d.url}/hook`, "{}")).status).toBe(202);
    const metrics = async () => (await fetch(`${d.adminUrl}/metrics`)).text();
    await waitFor(async () => metric(await metrics(), "switchyard_deliveries_total", { outcome: "dead" }) === 1, "the dead letter", 30_000);
    expect(metric(await metrics(), "switchyard_deliveries_total", { outcome: "retry" })).toBe(0);
    expect(asked).toBe(1);
    const list = await runCli(["dlq", "list", "--json", "-c", file]);
    const letters = JSON.parse(list.stdout) as { lastError: string; attempts: number }[];
    expect(letters).toHaveLength(1);
    expect(letters[0]?.lastError).toMatch(/^redirect loop: /);
    expect(letters[0]?.attempts).toBe(1);
  }, 60_000);
});
