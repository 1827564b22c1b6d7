import { describe, expect, it } from "vitest";
import { cleanupAfterEach, metric, post, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A target that fails for good is paused: its deliveries wait instead of burning attempts, a
 * probe now and then finds out when it is back, and nothing is lost meanwhile.
 */

const auth = { authorization: "Bearer pause-token-12345" };

/** A backend that answers 503 until `up` is set. */
async function backend(): Promise<Sink & { up: boolean; tries: number }> {
  const sink = Object.assign(await startSink(), { up: false, tries: 0 });
  sink.respond = (_req, res) => {
    sink.tries++;
    if (sink.up) res.writeHead(200).end("ok");
    else res.writeHead(503).end("down for maintenance");
  };
  return sink;
}

function config(backendUrl: string, phoneUrl: string): string {
  return `server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: app
    path: /hooks/app
    verify: { type: token, secret: pause-token-12345 }
    targets:
      - name: backend
        type: http
        url: "${backendUrl}/in"
        retry: { attempts: 1000, backoff: 50ms, max_backoff: 100ms }
        pause_after: { failures: 3, for: 500ms, probe: 200ms }
  - name: alerts
    on: [target.paused, target.resumed, delivery.dead]
    targets:
      - { name: phone, type: http, preset: ntfy, url: "${phoneUrl}/ops" }
`;
}

const titles = (phone: Sink) => phone.requests.map((r) => (JSON.parse(r.body) as { title: string }).title);

describe("e2e: paused targets", () => {
  const { track } = cleanupAfterEach();

  it("pauses a failing target with one alert, keeps its events, probes, and resumes and delivers the backlog", async () => {
    const dir = tempDir();
    const app = track(await backend());
    const phone = track(await startSink());
    const daemon = track(await startDaemon(writeConfig(dir, config(app.url, phone.url))));
    const metrics = async () => (await fetch(`${daemon.adminUrl}/metrics`)).text();

    expect((await post(`${daemon.url}/hooks/app`, '{"n":1}', auth)).status).toBe(202);
    await waitFor(async () => metric(await metrics(), "switchyard_target_paused", { route: "app", target: "backend" }) === 1, "the pause");
    await waitFor(() => phone.requests.length === 1, "the paused alert");
    expect(titles(phone)).toEqual(["Target app/backend paused"]);
    expect(JSON.parse(phone.requests[0]?.body ?? "{}").message).toContain("HTTP 503");

    // Events keep being accepted while it is paused: nothing is lost, nothing is dead-lettered.
    for (const n of [2, 3]) expect((await post(`${daemon.url}/hooks/app`, `{"n":${n}}`, auth)).status).toBe(202);
    const routes = (await (await fetch(`${daemon.adminUrl}/api/v1/routes`)).json()) as {
      routes: { name: string; targets: { name: string; paused: { since: string; error: string } | null }[] }[];
    };
    const paused = routes.routes.find((r) => r.name === "app")?.targets[0]?.paused;
    expect(paused?.error).toContain("HTTP 503");
    const dead = await runCli(["dlq", "list", "--json", "-c", `${dir}/switchyard.yaml`]);
    expect(JSON.parse(dead.stdout)).toEqual([]);

    app.up = true;
    await waitFor(() => app.requests.length === 3, "the backlog delivered after the probe", 30_000);
    expect(app.requests.map((r) => JSON.parse(r.body).n).sort()).toEqual([1, 2, 3]);
    await waitFor(() => phone.requests.length === 2, "the resumed alert");
    expect(titles(phone)).toEqual(["Target app/backend paused", "Target app/backend resumed"]);
    expect(metric(await metrics(), "switchyard_target_paused", { route: "app", target: "backend" })).toBe(0);
  }, 90_000);

  it("stays paused across a restart; switchyard target resume and the API resume it by hand", async () => {
    const dir = tempDir();
    const app = track(await backend());
    const phone = track(await startSink());
    const file = writeConfig(dir, config(app.url, phone.url));
    const first = track(await startDaemon(file));
    expect((await post(`${first.url}/hooks/app`, "{}", auth)).status).toBe(202);
    await waitFor(() => phone.requests.length === 1, "the paused alert");
    expect(await first.stop()).toBe(0);

    const list = await runCli(["target", "list", "-c", file]);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain("app/backend  paused since");

    const second = track(await startDaemon(file));
    const metrics = async () => (await fetch(`${second.adminUrl}/metrics`)).text();
    await waitFor(
      async () => metric(await metrics(), "switchyard_target_paused", { route: "app", target: "backend" }) === 1,
      "the pause after restart",
    );

    // Not paused, or unknown: a clear answer and exit 1.
    const wrong = await runCli(["target", "resume", "app/nope", "-c", file]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain("app/nope is not paused (paused: app/backend)");

    app.up = true;
    const resumed = await runCli(["target", "resume", "app/backend", "-c", file]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain("app/backend resumed");
    await waitFor(() => app.requests.length === 1, "the waiting delivery after the resume");
    await waitFor(() => titles(phone).includes("Target app/backend resumed"), "the resumed alert");
    expect(metric(await metrics(), "switchyard_target_paused", { route: "app", target: "backend" })).toBe(0);

    const again = await fetch(`${second.adminUrl}/api/v1/targets/app/backend/resume`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(again.status).toBe(409);
    expect(await again.json()).toEqual({ error: "app/backend is not paused" });
  }, 120_000);
});
