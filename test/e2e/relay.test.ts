import { randomBytes, randomUUID } from "node:crypto";
import { join } from "node:path";
import { sign as githubSign } from "@octokit/webhooks-methods";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { hasRedis, startRedis } from "../store/redis-harness.js";
import { cleanupAfterEach, metric, type RunningDaemon, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy.js";

/**
 * The relay end to end: an edge daemon takes GitHub-signed webhooks, a home daemon pulls them
 * through a TCP proxy that the test cuts and stalls, and each side is killed -9 mid-stream. Every
 * event the edge answered 202 lands in the home store exactly once, verified there with the
 * route's own GitHub secret.
 */

const SECRET = "relay-github-secret";
const SLOW = 120_000;

interface SentEvent {
  delivery: string;
  body: string;
}

function githubEvent(i: number): SentEvent {
  // About 7 KB, like a real push, spelled as no serializer would rewrite it.
  const body = `{ "ref": "refs/heads/main", "n": ${i},\n  "pad": "${"x".repeat(7_000)}" }\n`;
  return { delivery: randomUUID(), body };
}

function edgeConfig(store: string): string {
  return `server: { listen: 127.0.0.1:0 }
store: ${store}
routes:
  - name: github
    path: /hooks/github
    verify: { type: none }   # the home verifies GitHub's signature
    dedupe: { id: 'headers."x-github-delivery"' }
    targets:
      - name: home
        type: relay
        path: /relay/home
        token: "\${RELAY_TOKEN}"
        timeout: 3s          # the lease: unacknowledged batches come back this soon
        batch: 50
`;
}

function homeConfig(dir: string, relayUrl: string, sink: string): string {
  return `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "home.db")} }
relays:
  - name: edge
    url: ${relayUrl}/relay/home
    token: "\${RELAY_TOKEN}"
    wait: 1s
    batch: 50
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "\${GITHUB_SECRET}" }
    dedupe: true
    targets:
      - name: app
        type: http
        url: ${sink}
`;
}

/** Posts like GitHub does: until the edge answers 202 (or 200 duplicate), retrying a refused connection. */
async function deliverToEdge(edgeUrl: () => string, e: SentEvent, signature?: string): Promise<void> {
  const headers = {
    "content-type": "application/json",
    "x-github-event": "push",
    "x-github-delivery": e.delivery,
    "x-hub-signature-256": signature ?? (await githubSign(SECRET, e.body)),
  };
  for (;;) {
    try {
      const res = await fetch(`${edgeUrl()}/hooks/github`, { method: "POST", body: e.body, headers });
      await res.text();
      if (res.status === 202 || res.status === 200) return;
    } catch {
      // The edge is down (killed): GitHub would try again later.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function sendAll(edgeUrl: () => string, events: readonly SentEvent[], during?: (i: number) => Promise<void> | void): Promise<void> {
  for (let i = 0; i < events.length; i += 10) {
    await during?.(i);
    await Promise.all(events.slice(i, i + 10).map((e) => deliverToEdge(edgeUrl, e)));
  }
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

function countRows(file: string, sql: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/** The home store's events, by GitHub delivery id: their body bytes, and how many rows each has. */
function homeEvents(file: string): Map<string, { body: Buffer; rows: number }> {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const out = new Map<string, { body: Buffer; rows: number }>();
    for (const r of db.prepare("SELECT headers, body FROM events WHERE route = 'github'").all() as { headers: string; body: Buffer }[]) {
      const id = (JSON.parse(r.headers) as Record<string, string>)["x-github-delivery"] ?? "";
      const seen = out.get(id);
      out.set(id, { body: r.body, rows: (seen?.rows ?? 0) + 1 });
    }
    return out;
  } finally {
    db.close();
  }
}

async function scrape(d: RunningDaemon): Promise<string> {
  return (await fetch(`${d.adminUrl}/metrics`)).text();
}

describe("e2e: relay", () => {
  const { track, later } = cleanupAfterEach();

  it(
    "500 GitHub-signed events reach the home store exactly once, verified there, through cut and stalled connections and kill -9 of either side",
    async () => {
      const dir = tempDir("switchyard-relay-");
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex"), GITHUB_SECRET: SECRET };
      const edgeFile = writeConfig(dir, edgeConfig(`{ path: ${join(dir, "edge.db")} }`), "edge.yaml");
      let edge = track(await startDaemon(edgeFile, env));
      const proxy: TcpProxy = await startTcpProxy(portOf(edge.url));
      later(() => proxy.close());
      const sink = track(await startSink());
      const homeFile = writeConfig(dir, homeConfig(dir, proxy.url, sink.url), "home.yaml");
      let home = track(await startDaemon(homeFile, env));
      const events = Array.from({ length: 500 }, (_, i) => githubEvent(i));
      const edgeUrl = () => edge.url;

      // 0–99 plainly; 100–199 with the connection cut every 20 events.
      await sendAll(edgeUrl, events.slice(0, 100));
      await sendAll(edgeUrl, events.slice(100, 200), (i) => {
        if (i % 20 === 0) proxy.cut();
      });
      // 200–299: the home is killed -9 mid-stream and comes back.
      await sendAll(edgeUrl, events.slice(200, 300), async (i) => {
        if (i === 30) await home.stop("SIGKILL");
        if (i === 70) home = track(await startDaemon(homeFile, env));
      });
      // 300–399: the edge is killed -9 mid-stream and comes back on another port.
      await sendAll(edgeUrl, events.slice(300, 400), async (i) => {
        if (i === 30) {
          await edge.stop("SIGKILL");
          edge = track(await startDaemon(edgeFile, env));
          proxy.upstream = portOf(edge.url);
        }
      });
      // 400–499 while the connection stalls: the home notices (no byte for wait × 1.5 + 2 s) and reconnects.
      const reconnectsBefore = metric(await scrape(home), "switchyard_relay_reconnects_total", { relay: "edge" }) ?? 0;
      proxy.stall(true);
      await sendAll(edgeUrl, events.slice(400, 450));
      await waitFor(
        async () => (metric(await scrape(home), "switchyard_relay_reconnects_total", { relay: "edge" }) ?? 0) > reconnectsBefore,
        "the home to notice the stalled connection",
        30_000,
      );
      proxy.stall(false);
      await sendAll(edgeUrl, events.slice(450));
      // One request whose signature is wrong: the edge (verify none) takes it, the home refuses it and acknowledges it.
      await deliverToEdge(edgeUrl, githubEvent(500), `sha256=${"0".repeat(64)}`);

      const edgeDb = join(dir, "edge.db");
      await waitFor(
        () => countRows(edgeDb, "SELECT count(*) AS n FROM deliveries WHERE state = 'delivered'") === 501,
        "every edge delivery to be acknowledged",
        60_000,
      );
      const homeMetrics = await scrape(home);
      expect(metric(homeMetrics, "switchyard_events_received_total", { route: "github", outcome: "rejected" })).toBe(1);
      expect(home.logs.some((l) => l.msg === "verification failed" && l.route === "github")).toBe(true);
      expect(metric(homeMetrics, "switchyard_relay_acknowledged_total", { relay: "edge" })).toBeGreaterThan(0);
      expect(metric(await scrape(edge), "switchyard_relay_lag_seconds", { route: "github", target: "home" })).toBe(0);
      expect(await home.stop()).toBe(0);

      const stored = homeEvents(join(dir, "home.db"));
      expect(stored.size).toBe(500);
      for (const e of events) {
        const got = stored.get(e.delivery);
        expect(got?.rows, e.delivery).toBe(1);
        // Byte for byte: the signature the home verified is over exactly these bytes.
        expect(got?.body.equals(Buffer.from(e.body))).toBe(true);
      }
      // No token in any log line of either side.
      for (const d of [edge, home]) expect(JSON.stringify(d.logs)).not.toContain(env.RELAY_TOKEN);
    },
    SLOW,
  );

  it.skipIf(!hasRedis)(
    "with the edge on Redis: events arrive at home in order of receipt, once each, through a kill -9 of the edge",
    async () => {
      const redis = await startRedis();
      later(() => redis.destroy());
      const dir = tempDir("switchyard-relay-redis-");
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex"), GITHUB_SECRET: SECRET };
      const edgeFile = writeConfig(dir, edgeConfig(`{ type: redis, url: "${redis.url}" }`), "edge.yaml");
      let edge = track(await startDaemon(edgeFile, env));
      const proxy = await startTcpProxy(portOf(edge.url));
      later(() => proxy.close());
      const sink = track(await startSink());
      const events = Array.from({ length: 40 }, (_, i) => githubEvent(i));
      // Sent one at a time before the home runs: their order of receipt is the order sent.
      for (const e of events.slice(0, 20)) await deliverToEdge(() => edge.url, e);
      const homeFile = writeConfig(dir, homeConfig(dir, proxy.url, sink.url), "home.yaml");
      const home = track(await startDaemon(homeFile, env));
      await sendAll(
        () => edge.url,
        events.slice(20),
        async (i) => {
          if (i === 10) {
            await edge.stop("SIGKILL");
            edge = track(await startDaemon(edgeFile, env));
            proxy.upstream = portOf(edge.url);
          }
        },
      );
      await waitFor(
        async () =>
          metric(await scrape(edge), "switchyard_relay_lag_seconds", { route: "github", target: "home" }) === 0 &&
          homeEvents(join(dir, "home.db")).size === 40,
        "every event at home",
        60_000,
      );
      expect(await home.stop()).toBe(0);
      const db = new Database(join(dir, "home.db"), { readonly: true });
      const rows = db.prepare("SELECT headers FROM events ORDER BY rowid").all() as { headers: string }[];
      db.close();
      const order = rows.map((r) => (JSON.parse(r.headers) as Record<string, string>)["x-github-delivery"]);
      expect(new Set(order).size).toBe(40);
      // The ones waiting when the home started came in the order the edge received them.
      expect(order.slice(0, 20)).toEqual(events.slice(0, 20).map((e) => e.delivery));
    },
    SLOW,
  );
  it(
    "a reload starts the puller of a relay added to relays: and stops the one removed",
    async () => {
      const dir = tempDir("switchyard-relay-reload-");
      const env = { RELAY_TOKEN: randomBytes(16).toString("hex"), GITHUB_SECRET: SECRET };
      const edge = track(await startDaemon(writeConfig(dir, edgeConfig(`{ path: ${join(dir, "edge.db")} }`), "edge.yaml"), env));
      const sink = track(await startSink());
      const withRelay = homeConfig(dir, edge.url, sink.url);
      const without = withRelay.replace(/relays:[\s\S]*?batch: 50\n/, "");
      const homeFile = writeConfig(dir, without, "home.yaml");
      const home = track(await startDaemon(homeFile, env));
      const accepted = async () =>
        metric(await scrape(home), "switchyard_events_received_total", { route: "github", outcome: "accepted" }) ?? 0;
      const lag = async () => metric(await scrape(edge), "switchyard_relay_lag_seconds", { route: "github", target: "home" }) ?? 0;
      for (let i = 0; i < 3; i++) await deliverToEdge(() => edge.url, githubEvent(i));

      writeConfig(dir, withRelay, "home.yaml");
      home.proc.kill("SIGHUP");
      await waitFor(async () => (await accepted()) === 3, "the added relay's events at home", 30_000);

      writeConfig(dir, without, "home.yaml");
      home.proc.kill("SIGHUP");
      await waitFor(
        () => home.logs.some((l) => l.msg === "relay puller stopped" && l.relay === "edge"),
        "the removed relay's puller to stop",
      );
      await deliverToEdge(() => edge.url, githubEvent(3));
      // It waits at the edge, unpulled, while nothing at home asks for it.
      await waitFor(async () => (await lag()) >= 2, "the edge's lag to grow", 30_000);
      expect(await accepted()).toBe(3);
    },
    SLOW,
  );
});
