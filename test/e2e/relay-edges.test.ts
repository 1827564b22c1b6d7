import { randomBytes } from "node:crypto";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, post, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The relay's corners: a reload that arrives while the daemon shuts down, and a pulled batch
 * whose first event cannot be taken at home.
 */

const SLOW = 90_000;

function countRows(file: string, sql: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare(sql).get() as { n: number }).n;
  } finally {
    db.close();
  }
}

/**
 * An edge's config: route `hooks` (POST /hooks/in, no verify, `routeLines` added) relaying to a
 * target `home` at /relay/home, token from RELAY_TOKEN, with `targetOptions` added.
 */
function edgeYaml(dir: string, targetOptions: string, routeLines = ""): string {
  return `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
${routeLines}    targets:
      - { name: home, type: relay, path: /relay/home, token: "\${RELAY_TOKEN}", ${targetOptions} }
`;
}

describe("e2e: relay corners", () => {
  const { track } = cleanupAfterEach();

  it(
    "a SIGHUP during shutdown starts no relay puller again: the daemon still exits 0",
    async () => {
      const dir = tempDir("switchyard-relay-drain-");
      // A target that never answers keeps the drain open long enough for the SIGHUP to land in it.
      const sink = track(await startSink());
      sink.respond = () => new Promise<void>(() => undefined);
      const file = writeConfig(
        dir,
        `server: { listen: 127.0.0.1:0, shutdown_timeout: 4s }
store: { path: ${join(dir, "home.db")} }
relays:
  - name: edge
    url: http://127.0.0.1:9/relay/home   # nothing listens: the puller backs off and retries
    token: "\${RELAY_TOKEN}"
    wait: 1s
routes:
  - name: app
    path: /hooks/app
    verify: { type: none }
    targets:
      - { name: slow, type: http, url: "${sink.url}/slow", timeout: 60s }
`,
      );
      const d = track(await startDaemon(file, { RELAY_TOKEN: randomBytes(16).toString("hex") }));
      await waitFor(() => d.logs.some((l) => l.msg === "relay puller started"), "the puller to start");
      expect((await post(`${d.url}/hooks/app`, '{"n":1}')).status).toBe(202);
      await waitFor(() => sink.maxInFlight > 0, "the delivery to be in flight");
      d.proc.kill("SIGTERM");
      await waitFor(() => d.logs.some((l) => l.msg.startsWith("shutting down")), "the drain to begin");
      d.proc.kill("SIGHUP");
      const code = await Promise.race([d.exited, new Promise<string>((r) => setTimeout(() => r("still running"), 40_000))]);
      expect(code).toBe(0);
      expect(d.logs.filter((l) => l.msg === "relay puller started")).toHaveLength(1);
    },
    SLOW,
  );

  it(
    "events behind one the home keeps are not stored at home until it is taken: the batch enters in order or not at all",
    async () => {
      const dir = tempDir("switchyard-relay-keep-");
      const token = randomBytes(16).toString("hex");
      const edge = track(await startDaemon(writeConfig(dir, edgeYaml(dir, "timeout: 2s, batch: 10"), "edge.yaml"), { RELAY_TOKEN: token }));
      // The first event makes the home route's filter fail (500: kept at the edge); the two behind it are fine.
      for (const body of ['{"n":"not a number"}', '{"n":1}', '{"n":2}'])
        expect((await post(`${edge.url}/hooks/in`, body)).status).toBe(202);
      const sink = track(await startSink());
      const homeDb = join(dir, "home.db");
      const home = track(
        await startDaemon(
          writeConfig(
            dir,
            `server: { listen: 127.0.0.1:0 }
store: { path: ${homeDb} }
relays:
  - { name: edge, url: "${edge.url}/relay/home", token: "\${RELAY_TOKEN}", wait: 1s, batch: 10 }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    filter: $number(body.n) >= 0
    targets:
      - { name: app, type: http, url: "${sink.url}/app" }
`,
            "home.yaml",
          ),
          { RELAY_TOKEN: token },
        ),
      );
      // Twice: the second is the same batch handed out again once its lease expired.
      await waitFor(
        () => home.logs.filter((l) => l.msg === "relayed event kept at the edge: it could not be taken now").length >= 2,
        "the batch to be kept, pulled again and kept again",
        40_000,
      );
      expect(countRows(homeDb, "SELECT count(*) AS n FROM events")).toBe(0);
      expect(sink.requests).toHaveLength(0);
    },
    SLOW,
  );

  it(
    "a relay target's filter sees the body as the route reads it (content_type), as a pushed target's does",
    async () => {
      const dir = tempDir("switchyard-relay-body-");
      const token = randomBytes(16).toString("hex");
      const edge = track(
        await startDaemon(
          writeConfig(
            dir,
            edgeYaml(dir, `filter: 'body.kind = "push"'`, "    content_type: application/json   # the sender says text/plain\n"),
          ),
          { RELAY_TOKEN: token },
        ),
      );
      for (const kind of ["ping", "push"])
        expect((await post(`${edge.url}/hooks/in`, `{"kind":"${kind}"}`, { "content-type": "text/plain" })).status).toBe(202);
      const res = await fetch(`${edge.url}/relay/home?max=10&wait=0`, { headers: { Authorization: `Bearer ${token}` } });
      const answer = (await res.json()) as { events: { body: string }[] };
      expect(answer.events.map((e) => Buffer.from(e.body, "base64").toString())).toEqual(['{"kind":"push"}']);
    },
    SLOW,
  );

  it(
    "the lag counts an event handed out and not acknowledged, not only one nobody has pulled",
    async () => {
      const dir = tempDir("switchyard-relay-lag-");
      const token = randomBytes(16).toString("hex");
      const edge = track(await startDaemon(writeConfig(dir, edgeYaml(dir, "timeout: 5m")), { RELAY_TOKEN: token }));
      expect((await post(`${edge.url}/hooks/in`, '{"n":1}')).status).toBe(202);
      // Pulled and never acknowledged: the puller that took it is stuck; the event is not delivered.
      const res = await fetch(`${edge.url}/relay/home?max=10&wait=0`, { headers: { Authorization: `Bearer ${token}` } });
      expect(((await res.json()) as { events: unknown[] }).events).toHaveLength(1);
      const lag = async () =>
        metric(await (await fetch(`${edge.url}/metrics`)).text(), "switchyard_relay_lag_seconds", { route: "hooks", target: "home" }) ?? 0;
      await waitFor(async () => (await lag()) >= 1, "the lag to count the leased event", 20_000);
    },
    SLOW,
  );

  it(
    "raises relay.lagging on an on route once the oldest unacknowledged event is older than the target's lag_alert",
    async () => {
      const dir = tempDir("switchyard-relay-lagging-");
      const sink = track(await startSink());
      const edge = track(
        await startDaemon(
          writeConfig(
            dir,
            `server: { listen: 127.0.0.1:0 }
store: { path: ${join(dir, "edge.db")} }
routes:
  - name: hooks
    path: /hooks/in
    verify: { type: none }
    targets:
      - { name: home, type: relay, path: /relay/home, token: "\${RELAY_TOKEN}", lag_alert: 2s }
      - { name: quiet, type: relay, path: /relay/quiet, token: "\${RELAY_TOKEN}", lag_alert: false }
  - name: alerts
    on: [relay.lagging]
    targets: [{ name: ops, type: http, url: "${sink.url}/alerts" }]
`,
          ),
          { RELAY_TOKEN: randomBytes(16).toString("hex") },
        ),
      );
      // No puller comes: the event waits at the edge.
      expect((await post(`${edge.url}/hooks/in`, '{"n":1}')).status).toBe(202);
      const got = await waitFor(() => sink.requests[0], "the relay.lagging alert", 30_000);
      const alert = JSON.parse(got.body) as { body?: Record<string, unknown> } & Record<string, unknown>;
      const body = (alert.body ?? alert) as Record<string, unknown>;
      expect(body).toMatchObject({
        kind: "relay.lagging",
        severity: "error",
        route: "hooks",
        target: "home",
        title: "Relay hooks/home is lagging",
      });
      expect(JSON.stringify(sink.requests.map((r) => r.body))).not.toContain("quiet");
    },
    SLOW,
  );
});
