import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, post, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A homelab has no on-call rotation: Switchyard says itself when something needs a person.
 * Routes with `on:` receive the daemon's own events, here through the ntfy preset to a local sink.
 */

const auth = { authorization: "Bearer alerts-token-123" };

function appRoute(downUrl: string): string {
  return `  - name: app
    path: /hooks/app
    verify: { type: token, secret: alerts-token-123 }
    targets:
      - { name: backend, type: http, url: "${downUrl}/backend", retry: { attempts: 1 } }`;
}

function alertRoute(sinkUrl: string, extra = ""): string {
  return `  - name: alerts
    on: [delivery.dead, config.reload_failed]${extra}
    targets:
      - name: phone
        type: http
        preset: ntfy
        url: "${sinkUrl}/my-topic"`;
}

function config(routes: string[], server = ""): string {
  return `server: { listen: 127.0.0.1:0${server} }
store: { path: ./data/switchyard.db }
routes:
${routes.join("\n")}
`;
}

/** A target that is down: every request answers 503. */
async function downSink(): Promise<Sink> {
  const sink = await startSink();
  sink.respond = (_req, res) => {
    res.writeHead(503).end("maintenance");
  };
  return sink;
}

interface Ntfy {
  topic: string;
  title: string;
  message: string;
  priority: number;
  tags: string[];
  click?: string;
}

describe("e2e: alerts", () => {
  const { track } = cleanupAfterEach();

  it("sends one ntfy-shaped alert for a target's dead letters, then none within the group window", async () => {
    const dir = tempDir();
    const down = track(await downSink());
    const phone = track(await startSink());
    const file = writeConfig(dir, config([appRoute(down.url), alertRoute(phone.url)], ", public_url: https://switchyard.example.net"));
    const daemon = track(await startDaemon(file));

    const first = (await post(`${daemon.url}/hooks/app`, '{"n":1}', auth)).json() as { id: string };
    const alert = await waitFor(() => phone.requests[0], "the first alert");
    // ntfy's JSON publishing: POST to the server's root, the topic in the body.
    expect(alert.url).toBe("/");
    expect(alert.method).toBe("POST");
    expect(alert.headers["content-type"]).toBe("application/json");
    const body = JSON.parse(alert.body) as Ntfy;
    expect(body.topic).toBe("my-topic");
    expect(body.title).toBe("Delivery to app/backend failed for good");
    expect(body.message).toContain(first.id);
    expect(body.message).toContain("HTTP 503");
    expect(body.priority).toBe(4);
    expect(body.tags).toEqual(["rotating_light"]);
    expect(body.click).toBe(`https://switchyard.example.net/#/events/${first.id}`);

    // Two more dead letters within the window: counted, not sent.
    for (const n of [2, 3]) expect((await post(`${daemon.url}/hooks/app`, `{"n":${n}}`, auth)).status).toBe(202);
    await waitFor(() => daemon.logs.filter((l) => l.msg.startsWith("delivery failed for good")).length === 3, "three dead letters");
    // Had they been raised, the log would say so before the delivery; give the worker a pass to deliver.
    await waitFor(() => daemon.logs.some((l) => l.msg === "delivered" && l.route === "alerts"), "the alert's delivery");
    expect(daemon.logs.filter((l) => l.msg === "alert raised")).toHaveLength(1);
    expect(phone.requests).toHaveLength(1);
    // The console lists the alert route by its kinds, and counts what it received.
    const overview = (await (await fetch(`${daemon.adminUrl}/api/v1/routes`)).json()) as { routes: { name: string; on?: string[] }[] };
    expect(overview.routes.find((r) => r.name === "alerts")?.on).toEqual(["delivery.dead", "config.reload_failed"]);
  });

  it("ends a group window with one summary that says how many alerts it stands for", async () => {
    const dir = tempDir();
    const down = track(await downSink());
    const phone = track(await startSink());
    const file = writeConfig(dir, config([appRoute(down.url), alertRoute(phone.url, "\n    group: 2s")]));
    const daemon = track(await startDaemon(file));
    for (const n of [1, 2, 3]) expect((await post(`${daemon.url}/hooks/app`, `{"n":${n}}`, auth)).status).toBe(202);
    const [one, summary] = await waitFor(() => phone.requests.length >= 2 && phone.requests, "the alert and its summary", 20_000);
    expect((JSON.parse(one?.body ?? "{}") as Ntfy).message).not.toContain("grouped");
    expect((JSON.parse(summary?.body ?? "{}") as Ntfy).message).toContain("(2 alerts of this kind for this target grouped since");
  });

  it("raises no alert about an alert route's own deliveries, on any alert route: two alert routes down do not feed each other", async () => {
    const dir = tempDir();
    const down = track(await downSink());
    // Both alert routes' targets are down, as in an outage that takes the whole network away.
    const alerts = `  - name: alerts
    on: [delivery.dead]
    targets:
      - { name: phone, type: http, preset: json, url: "${down.url}/phone", retry: { attempts: 1 } }`;
    const auditRoute = `  - name: audit
    on: [delivery.dead]
    group: false
    targets:
      - { name: log, type: http, preset: json, url: "${down.url}/audit", retry: { attempts: 1 } }`;
    const file = writeConfig(dir, config([appRoute(down.url), alerts, auditRoute]));
    const daemon = track(await startDaemon(file));
    expect((await post(`${daemon.url}/hooks/app`, "{}", auth)).status).toBe(202);
    // app/backend's dead letter alerts both routes; each alert's own dead letter is only logged.
    await waitFor(() => daemon.logs.filter((l) => l.msg.startsWith("delivery failed for good")).length === 3, "three dead letters");
    const silenced = await waitFor(() => {
      const lines = daemon.logs.filter((l) => l.msg === "no alert raised: it is about an alert route's own delivery");
      return lines.length === 2 && lines;
    }, "both alert routes' dead letters logged instead of alerted");
    expect(silenced.map((l) => l.route).sort()).toEqual(["alerts", "audit"]);
    const raised = daemon.logs.filter((l) => l.msg === "alert raised");
    expect(raised.map((l) => l.route).sort()).toEqual(["alerts", "audit"]);
    expect(daemon.logs.filter((l) => l.msg.startsWith("delivery failed for good"))).toHaveLength(3);
    // Still counted and kept: the alert routes' dead letters are in the metrics and the DLQ.
    const metrics = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/switchyard_deliveries_total\{route="alerts",target="phone",outcome="dead"\} 1/);
    expect(metrics).toMatch(/switchyard_deliveries_total\{route="audit",target="log",outcome="dead"\} 1/);
  });

  it("raises config.reload_failed with the error text, and the old config keeps serving", async () => {
    const dir = tempDir();
    const phone = track(await startSink());
    const good = config([
      `  - name: app
    path: /hooks/app
    verify: { type: token, secret: alerts-token-123 }
    targets:
      - { name: backend, type: http, url: "${phone.url}/backend" }`,
      alertRoute(phone.url),
    ]);
    const file = writeConfig(dir, good);
    const daemon = track(await startDaemon(file));
    writeFileSync(file, good.replace("type: token", "type: tokn"));
    const alert = await waitFor(() => phone.requests.find((r) => r.url === "/"), "the reload_failed alert");
    const body = JSON.parse(alert.body) as Ntfy;
    expect(body.title).toBe("Config reload failed");
    expect(body.message).toContain("routes[0].verify.type");
    expect((await post(`${daemon.url}/hooks/app`, "{}", auth)).status).toBe(202);
  });

  it("switchyard test shows what an alert route's preset would send for an alert body; sign refuses it", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, config([alertRoute("http://127.0.0.1:9")]));
    const body = `${dir}/alert.json`;
    writeFileSync(
      body,
      JSON.stringify({ kind: "delivery.dead", severity: "error", title: "Delivery failed", message: "boom", grouped: 1 }),
    );
    const dry = await runCli(["test", "alerts", "--body", body, "--json", "-c", file]);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout) as { on: string[]; targets: { would: { url: string; body: string } }[] };
    expect(report.on).toEqual(["delivery.dead", "config.reload_failed"]);
    expect(report.targets[0]?.would.url).toBe("http://127.0.0.1:9/");
    expect(JSON.parse(report.targets[0]?.would.body ?? "{}")).toMatchObject({
      topic: "my-topic",
      title: "Delivery failed",
      message: "boom",
      priority: 4,
    });
    const sign = await runCli(["sign", "alerts", "--body", body, "-c", file]);
    expect(sign.code).toBe(1);
    expect(sign.stderr).toContain("alerts is an on route");
  });

  it("check names the place of a route with both path and on, an on route with verify, or with a relay target", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      config([
        `  - name: both
    path: /hooks/both
    on: [delivery.dead]
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]`,
        `  - name: verified
    on: [store.unavailable]
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]`,
        `  - name: neither
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]`,
        `  - name: unknown
    on: [delivery.deadd]
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]`,
        `  - name: telegram
    on: [delivery.dead]
    targets: [{ name: t, type: http, preset: telegram, url: "http://127.0.0.1:9/" }]`,
        `  - name: relayed
    on: [delivery.dead]
    targets: [{ name: home, type: relay, path: /relay/alerts, token: "\${RELAY_TOKEN}" }]`,
      ]),
    );
    const { code, stderr, stdout } = await runCli(["check", "-c", file], { RELAY_TOKEN: "relay-token-0123456789" });
    const out = stdout + stderr;
    expect(code).toBe(1);
    expect(out).toContain("routes[0].on: a route has path (webhooks) or on (alerts), not both");
    expect(out).toContain("routes[1].verify: an on route receives Switchyard's own events: it takes no verify");
    expect(out).toContain("routes[2].path: is required");
    expect(out).toMatch(/routes\[3\]\.on\[0\]/);
    expect(out).toContain("routes[4].targets[0].preset: the telegram preset needs chat_id");
    // An alert has no path a home route could take it by: a relay target there could never deliver.
    expect(out).toMatch(/routes\[5\]\.targets\[0\]\.type: home is a relay target: an on route's alerts are never pulled/);
  });
});
