import { renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/** Ops people edit the config on a live box; a bad edit must never take routes down. */

const auth = { authorization: "Bearer reload-token" };

function configText(sinkUrl: string, routes: string[]): string {
  return `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
${routes
  .map(
    (name) => `  - name: ${name}
    path: /hooks/${name}
    verify: { type: token, secret: reload-token }
    targets:
      - { name: sink, type: http, url: "${sinkUrl}/${name}" }`,
  )
  .join("\n")}
`;
}

async function metricsOf(d: RunningDaemon): Promise<string> {
  return (await fetch(`${d.adminUrl}/metrics`)).text();
}

describe("e2e: hot reload", () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(): Promise<{ dir: string; file: string; sink: Sink; daemon: RunningDaemon }> {
    const dir = tempDir();
    const sink = await startSink();
    cleanups.push(() => sink.close());
    const file = writeConfig(dir, configText(sink.url, ["a"]));
    const daemon = await startDaemon(file);
    cleanups.push(() => daemon.stop());
    return { dir, file, sink, daemon };
  }

  it("takes effect when an editor replaces the file by rename", async () => {
    const { dir, file, daemon } = await setup();
    expect((await post(`${daemon.url}/hooks/b`, "{}", auth)).status).toBe(404);
    writeFileSync(join(dir, ".switchyard.yaml.swp"), configText("http://127.0.0.1:9", ["a", "b"]));
    renameSync(join(dir, ".switchyard.yaml.swp"), file);
    await waitFor(async () => (await post(`${daemon.url}/hooks/b`, "{}", auth)).status === 202, "route b to appear");
    const text = await metricsOf(daemon);
    expect(metric(text, "switchyard_config_reloads_total", { result: "success" })).toBe(1);
    expect(metric(text, "switchyard_config_last_reload_successful")).toBe(1);
  });

  it("takes effect on SIGHUP after an in-place write", async () => {
    const { file, daemon, sink } = await setup();
    writeFileSync(file, configText(sink.url, ["a", "c"]));
    daemon.proc.kill("SIGHUP");
    await waitFor(async () => (await post(`${daemon.url}/hooks/c`, "{}", auth)).status === 202, "route c to appear");
  });

  it("keeps every old route answering on a broken edit, flips the gauge to 0, and back to 1 on a fix", async () => {
    const { file, daemon, sink } = await setup();
    const before = Number(metric(await metricsOf(daemon), "switchyard_config_last_reload_success_timestamp_seconds"));
    writeFileSync(file, configText(sink.url, ["a", "b"]).replace("type: token", "type: tokn"));
    await waitFor(async () => metric(await metricsOf(daemon), "switchyard_config_last_reload_successful") === 0, "the failed reload");
    const text = await metricsOf(daemon);
    expect(metric(text, "switchyard_config_reloads_total", { result: "failure" })).toBe(1);
    expect(metric(text, "switchyard_config_last_reload_success_timestamp_seconds")).toBe(before);
    const failure = daemon.logs.find((l) => l.level === "error" && String(l.msg).includes("routes[0].verify.type"));
    expect(failure).toBeDefined();
    expect((await post(`${daemon.url}/hooks/a`, "{}", auth)).status).toBe(202);
    expect((await post(`${daemon.url}/hooks/b`, "{}", auth)).status).toBe(404);

    writeFileSync(file, configText(sink.url, ["a", "b"]));
    await waitFor(async () => metric(await metricsOf(daemon), "switchyard_config_last_reload_successful") === 1, "the fixed reload");
    expect((await post(`${daemon.url}/hooks/b`, "{}", auth)).status).toBe(202);
    expect(Number(metric(await metricsOf(daemon), "switchyard_config_last_reload_success_timestamp_seconds"))).toBeGreaterThan(before);
  });

  it("still delivers an event accepted just before a reload", async () => {
    const { file, daemon, sink } = await setup();
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    sink.respond = async (_req, res) => {
      await gate;
      res.writeHead(200).end();
    };
    const { id } = (await post(`${daemon.url}/hooks/a`, `{"before":"reload"}`, auth)).json() as { id: string };
    writeFileSync(file, configText(sink.url, ["a", "d"]));
    daemon.proc.kill("SIGHUP");
    await waitFor(() => daemon.logs.some((l) => l.msg === "config reloaded"), "the reload");
    release();
    await waitFor(() => sink.requests.find((r) => r.headers["x-switchyard-event-id"] === id), "the delivery");
  });

  it("keeps deliveries of a removed route, and resumes them when it comes back", async () => {
    const { file, daemon, sink } = await setup();
    sink.respond = (_req, res) => {
      res.writeHead(503).end();
    };
    writeFileSync(file, configText(sink.url, ["a"]).replace("url:", "retry: { attempts: 20, backoff: 200ms, max_backoff: 200ms }, url:"));
    daemon.proc.kill("SIGHUP");
    await waitFor(() => daemon.logs.filter((l) => l.msg === "config reloaded").length === 1, "the first reload");
    const { id } = (await post(`${daemon.url}/hooks/a`, "{}", auth)).json() as { id: string };
    writeFileSync(file, configText(sink.url, ["z"]));
    daemon.proc.kill("SIGHUP");
    await waitFor(
      () => daemon.logs.some((l) => String(l.msg).startsWith("deliveries are waiting for a route or target that is no longer")),
      "the orphan report",
    );
    sink.respond = (_req, res) => {
      res.writeHead(200).end();
    };
    writeFileSync(file, configText(sink.url, ["a", "z"]));
    daemon.proc.kill("SIGHUP");
    await waitFor(() => sink.requests.find((r) => r.headers["x-switchyard-event-id"] === id), "the resumed delivery");
  });

  it("reports listen and store changes as needing a restart, applying the rest", async () => {
    const { file, daemon, sink } = await setup();
    writeFileSync(file, configText(sink.url, ["a", "e"]).replace("./data/switchyard.db", "./data/other.db"));
    daemon.proc.kill("SIGHUP");
    const warning = await waitFor(() => daemon.logs.find((l) => String(l.msg).includes("only after a restart")), "the restart warning");
    expect(warning.keys).toEqual(["store"]);
    expect((await post(`${daemon.url}/hooks/e`, "{}", auth)).status).toBe(202);
  });
});
