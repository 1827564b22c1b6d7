import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterEach, describe, expect, it } from "vitest";
import { hasRedis, type RedisServer, startRedis } from "../store/redis-harness.js";
import { metric, post, type RunningDaemon, runCli, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The built CLI against a real redis-server whose settings would lose the queue: `serve` refuses
 * to start on it, says why, refuses webhooks while a running Redis is switched to such settings,
 * and notices (log + metric) a Redis that lost the events it held, by a restart or a FLUSHALL.
 */

const TOKEN = "durability-token";

function config(redisUrl: string, extra = ""): string {
  return writeConfig(
    tempDir("switchyard-durability-"),
    `
server: { listen: 127.0.0.1:0, shutdown_timeout: 1s }
store: { type: redis, url: "${redisUrl}", prefix: "d-${randomUUID().slice(0, 8)}"${extra} }
routes:
  - name: hooks
    path: /hooks
    verify: { type: token, secret: ${TOKEN} }
    targets:
      # Nothing listens there: deliveries stay queued in Redis, retrying.
      - { name: down, type: http, url: "http://127.0.0.1:9/never", timeout: 1s, retry: { attempts: 50, backoff: 10s } }
`,
  );
}

describe.skipIf(!hasRedis)("e2e: a Redis that would lose the queue", () => {
  const redises: RedisServer[] = [];
  const daemons: RunningDaemon[] = [];
  const redis = async (args: string[] = []) => {
    const r = await startRedis({ args });
    redises.push(r);
    return r;
  };
  const daemon = async (file: string) => {
    const d = await startDaemon(file);
    daemons.push(d);
    return d;
  };
  /** A command to the test's Redis from outside the daemon, as an operator's redis-cli would. */
  const command = async (r: RedisServer, ...args: string[]): Promise<unknown> => {
    const client = new Redis(r.port, "127.0.0.1", { lazyConnect: true, retryStrategy: () => null });
    try {
      await client.connect();
      return await client.call(args[0] ?? "PING", ...args.slice(1));
    } finally {
      client.disconnect();
    }
  };
  const hook = async (d: RunningDaemon) => {
    const res = await fetch(`${d.url}/hooks`, {
      method: "POST",
      body: "{}",
      headers: { "content-type": "application/json", authorization: `Bearer ${TOKEN}` },
    });
    await res.text();
    return res;
  };
  const readyz = async (d: RunningDaemon) => (await fetch(`${d.adminUrl}/readyz`)).status;
  afterEach(async () => {
    for (const d of daemons.splice(0)) await d.stop("SIGKILL");
    for (const r of redises.splice(0)) await r.destroy();
  });

  it("serve refuses to start on appendonly no, naming the setting and the way out", async () => {
    const r = await redis(["--appendonly", "no"]);
    const res = await runCli(["serve", "-c", config(r.url)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("refusing to start");
    expect(res.stderr).toContain("appendonly is no");
    expect(res.stderr).toContain("store.allow_volatile");
  }, 30_000);

  it("serve refuses an eviction policy too", async () => {
    const r = await redis(["--maxmemory-policy", "allkeys-lru"]);
    const res = await runCli(["serve", "-c", config(r.url)]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain("maxmemory-policy is allkeys-lru");
  }, 30_000);

  it("with allow_volatile it starts, warns, and reports the events a Redis restart lost", async () => {
    const r = await redis(["--appendonly", "no"]);
    const d = await daemon(config(r.url, ", allow_volatile: true"));
    expect(d.logs.some((l) => l.level === "warn" && String(l.msg).includes("appendonly is no"))).toBe(true);
    for (let i = 0; i < 5; i++) {
      expect((await post(`${d.url}/hooks`, `{"n":${i}}`, { authorization: `Bearer ${TOKEN}` })).status).toBe(202);
    }
    await r.stop("SIGTERM");
    await r.restart();
    const lost = await waitFor(
      () => d.logs.find((l) => l.level === "error" && String(l.msg).includes("Redis lost the store's data")),
      "the daemon to report the lost data",
      30_000,
    );
    expect(lost.msg).toContain("queued in it are lost");
    const text = await (await fetch(`${d.adminUrl}/metrics`)).text();
    expect(metric(text, "switchyard_store_data_lost_total")).toBe(1);
  }, 60_000);

  it("a restart of a Redis with its append-only file loses nothing and reports nothing", async () => {
    const r = await redis();
    const d = await daemon(config(r.url));
    expect((await post(`${d.url}/hooks`, "{}", { authorization: `Bearer ${TOKEN}` })).status).toBe(202);
    const readyBefore = d.logs.length;
    await r.stop("SIGTERM");
    await r.restart();
    // Back in service (ingress stores again) and the reconnect check has had its turn.
    await waitFor(
      async () => (await post(`${d.url}/hooks`, "{}", { authorization: `Bearer ${TOKEN}` })).status === 202,
      "Redis to be back",
    );
    await waitFor(
      () => d.logs.slice(readyBefore).find((l) => String(l.msg).includes("reconnected; the store's data is still there")),
      "the reconnect check",
      30_000,
    );
    expect(d.logs.slice(readyBefore).filter((l) => l.level === "error" && String(l.msg).includes("lost"))).toEqual([]);
    const text = await (await fetch(`${d.adminUrl}/metrics`)).text();
    expect(metric(text, "switchyard_store_data_lost_total")).toBe(0);
  }, 60_000);

  it("a Redis that forbids CONFIG (managed services) is run with a warning that the check could not be made", async () => {
    const r = await redis(["--rename-command", "CONFIG", ""]);
    const d = await daemon(config(r.url));
    const warning = d.logs.find((l) => l.level === "warn" && String(l.msg).includes("could not check Redis's persistence settings"));
    expect(warning?.msg).toContain("appendonly yes");
    expect((await post(`${d.url}/hooks`, "{}", { authorization: `Bearer ${TOKEN}` })).status).toBe(202);
  }, 30_000);

  it("appendfsync no starts with a warning", async () => {
    const r = await redis(["--appendfsync", "no"]);
    const d = await daemon(config(r.url));
    expect(d.logs.some((l) => l.level === "warn" && String(l.msg).includes("appendfsync is no"))).toBe(true);
  }, 30_000);

  it("a running Redis switched to appendonly no gets 503 and /readyz 503 until it is switched back", async () => {
    const r = await redis();
    const d = await daemon(config(r.url));
    expect((await hook(d)).status).toBe(202);
    expect(await readyz(d)).toBe(200);

    await command(r, "CONFIG", "SET", "appendonly", "no");
    // The periodic check notices it without any reconnect.
    const refused = await waitFor(
      async () => {
        const res = await hook(d);
        return res.status === 503 && res;
      },
      "webhooks to be refused",
      30_000,
    );
    expect(refused.headers.get("retry-after")).toBeTruthy();
    expect(await readyz(d)).toBe(503);
    const said = d.logs.filter((l) => l.level === "error" && String(l.msg).includes("Redis's settings now lose queued events"));
    expect(said).toHaveLength(1);
    expect(said[0]?.msg).toContain("appendonly is no");
    expect(said[0]?.msg).toContain("Answering 503 to webhooks");
    // The outage line says why, not "unreachable", and is said once however many webhooks are refused.
    expect((await hook(d)).status).toBe(503);
    const outage = d.logs.filter((l) => String(l.msg).includes("answering 503 to webhooks until"));
    expect(outage).toHaveLength(1);
    expect(outage[0]?.msg).toContain("would lose queued events (appendonly is no)");
    expect(outage[0]?.msg).not.toContain("unreachable");

    await command(r, "CONFIG", "SET", "appendonly", "yes");
    await waitFor(async () => (await hook(d)).status === 202, "webhooks to be accepted again", 30_000);
    expect(await readyz(d)).toBe(200);
    await waitFor(
      () => d.logs.find((l) => String(l.msg).includes("Redis's settings keep queued events again")),
      "the all-clear in the log",
    );
    expect(d.logs.filter((l) => String(l.msg).includes("Redis's settings now lose queued events"))).toHaveLength(1);
    expect(d.proc.exitCode).toBeNull();
  }, 90_000);

  it("a running Redis switched to an eviction policy is refused the same way", async () => {
    const r = await redis();
    const d = await daemon(config(r.url));
    await command(r, "CONFIG", "SET", "maxmemory-policy", "allkeys-lru");
    await waitFor(async () => (await hook(d)).status === 503, "webhooks to be refused", 30_000);
    expect(await readyz(d)).toBe(503);
    expect(d.logs.some((l) => l.level === "error" && String(l.msg).includes("maxmemory-policy is allkeys-lru"))).toBe(true);
    await command(r, "CONFIG", "SET", "maxmemory-policy", "noeviction");
    await waitFor(async () => (await hook(d)).status === 202, "webhooks to be accepted again", 30_000);
    expect(await readyz(d)).toBe(200);
  }, 90_000);

  it("with allow_volatile a running Redis switched to appendonly no keeps taking webhooks, with a warning", async () => {
    const r = await redis();
    const d = await daemon(config(r.url, ", allow_volatile: true"));
    await command(r, "CONFIG", "SET", "appendonly", "no");
    await waitFor(
      () =>
        d.logs.find(
          (l) =>
            l.level === "warn" && String(l.msg).includes("appendonly is no") && String(l.msg).includes("(allowed by store.allow_volatile)"),
        ),
      "the warning",
      30_000,
    );
    expect((await hook(d)).status).toBe(202);
    expect(await readyz(d)).toBe(200);
  }, 60_000);

  it("a FLUSHALL while the daemon runs is reported within seconds, without a reconnect", async () => {
    const r = await redis();
    const d = await daemon(config(r.url));
    for (let i = 0; i < 3; i++) expect((await hook(d)).status).toBe(202);
    const before = d.logs.length;
    await command(r, "FLUSHALL");
    const lost = await waitFor(
      () => d.logs.slice(before).find((l) => l.level === "error" && String(l.msg).includes("Redis lost the store's data")),
      "the daemon to report the lost data",
      30_000,
    );
    expect(lost.msg).toContain("FLUSHALL");
    const text = await (await fetch(`${d.adminUrl}/metrics`)).text();
    expect(metric(text, "switchyard_store_data_lost_total")).toBe(1);
    // The marker is written anew (so the next checks find it and count nothing more), and the
    // store goes on taking webhooks; no reconnect was needed to notice.
    expect(await command(r, "KEYS", "*sy:marker")).toHaveLength(1);
    expect((await hook(d)).status).toBe(202);
    expect(d.logs.slice(before).some((l) => String(l.msg).includes("reconnected"))).toBe(false);
  }, 60_000);
});
