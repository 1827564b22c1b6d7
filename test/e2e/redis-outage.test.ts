import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hasRedis, type RedisServer, startRedis } from "../store/redis-harness.js";
import { post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * Redis goes away and comes back under a running daemon: the log says so once each way, in
 * Switchyard's words (which Redis, and that webhooks get 503), instead of the client library's
 * own text on every request and every worker pass.
 */
describe.skipIf(!hasRedis)("e2e: a Redis outage in the log", () => {
  let redis: RedisServer;
  let sink: Sink;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    redis = await startRedis();
    sink = await startSink();
    const dir = tempDir();
    const config = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { type: redis, url: "${redis.url}", prefix: outage }
routes:
  - { name: demo, path: /hooks/demo, verify: { type: none }, targets: [{ name: sink, type: http, url: "${sink.url}/demo" }] }
`,
    );
    daemon = await startDaemon(config, { SWITCHYARD_LOG_LEVEL: "info" });
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
    await redis?.destroy();
  });

  it("logs 'redis at HOST:PORT unreachable; answering 503' once per outage and once on recovery", async () => {
    expect((await post(`${daemon.url}/hooks/demo`, '{"n":1}')).status).toBe(202);
    await redis.stop("SIGKILL");
    const where = `redis at 127.0.0.1:${redis.port}`;
    const down = () => daemon.logs.filter((l) => l.msg === `${where} unreachable; answering 503 to webhooks until it is back`);
    await waitFor(async () => (await post(`${daemon.url}/hooks/demo`, '{"n":2}')).status === 503, "a 503 while Redis is down");
    for (let i = 0; i < 5; i++) expect((await post(`${daemon.url}/hooks/demo`, '{"n":3}')).status).toBe(503);
    await waitFor(() => down().length > 0, "the outage line");
    // The worker polls every second: give it a few passes that fail, which must not log again.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(down()).toHaveLength(1);
    expect(down()[0]).toMatchObject({ level: "error", store: where });
    const libraryText = /Stream isn't writeable|enableOfflineQueue|Connection is closed/;
    expect(daemon.logs.filter((l) => libraryText.test(JSON.stringify(l)))).toEqual([]);
    expect(daemon.logs.filter((l) => l.msg === "worker pass failed; retrying")).toEqual([]);
    // Each refused webhook is summarised, not logged one by one.
    expect(daemon.logs.filter((l) => l.msg === "event not accepted: the store is unavailable")).toHaveLength(1);

    await redis.restart();
    await waitFor(async () => (await post(`${daemon.url}/hooks/demo`, '{"n":4}')).status === 202, "a 202 once Redis is back", 30_000);
    const back = await waitFor(() => {
      const l = daemon.logs.filter((x) => x.msg.startsWith(`${where} is back after`));
      return l.length > 0 && l;
    }, "the recovery line");
    expect(back).toHaveLength(1);
    expect(back[0]?.msg).toMatch(/; accepting webhooks again$/);
    await waitFor(() => sink.requests.some((r) => r.body === '{"n":4}'), "the delivery after the outage", 30_000);
  }, 90_000);
});
