import { describe, expect, it } from "vitest";
import { hasRedis, startRedis } from "../store/redis-harness.js";
import { cleanupAfterEach, post, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A store that is down cannot take the alert that says so: it waits in memory and is stored
 * once the store is back, before the alert that says it is back.
 */

describe.skipIf(!hasRedis)("e2e: store outage alerts", () => {
  const { track, later } = cleanupAfterEach();

  it("raises store.unavailable during a Redis outage and delivers it, then store.recovered, once Redis is back", async () => {
    const redis = await startRedis();
    later(() => redis.destroy());
    const sink = track(await startSink());
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `server: { listen: 127.0.0.1:0 }
store: { type: redis, url: "${redis.url}" }
routes:
  - name: app
    path: /hooks/app
    verify: { type: token, secret: store-alerts-token }
    targets: [{ name: sink, type: http, url: "${sink.url}/app" }]
  - name: alerts
    on: [store.unavailable, store.recovered]
    targets: [{ name: ops, type: http, preset: json, url: "${sink.url}/alerts" }]
`,
    );
    const daemon = track(await startDaemon(file));
    const auth = { authorization: "Bearer store-alerts-token" };
    expect((await post(`${daemon.url}/hooks/app`, "{}", auth)).status).toBe(202);

    await redis.stop("SIGKILL");
    await waitFor(async () => (await post(`${daemon.url}/hooks/app`, "{}", auth)).status === 503, "a 503 while Redis is down");
    // Nothing can reach the sink while the store is down: the alert is held.
    expect(sink.requests.filter((r) => r.url === "/alerts")).toHaveLength(0);

    await redis.restart();
    const alerts = await waitFor(
      () => {
        const got = sink.requests.filter((r) => r.url === "/alerts").map((r) => JSON.parse(r.body) as { kind: string; title: string });
        return got.length >= 2 && got;
      },
      "both store alerts",
      30_000,
    );
    expect(alerts.map((a) => a.kind).sort()).toEqual(["store.recovered", "store.unavailable"]);
    expect(alerts.find((a) => a.kind === "store.unavailable")?.title).toBe("Store unavailable");
    expect((await post(`${daemon.url}/hooks/app`, "{}", auth)).status).toBe(202);
  });
});
