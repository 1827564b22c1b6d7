import { afterAll, describe, expect, it } from "vitest";
import { post, type RunningDaemon, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A reload of a config with thousands of routes must not hold the requests that arrive while it
 * runs: the file is parsed on another thread and the routes are compiled a slice at a time, so
 * a request sent after the reload started is answered before the reload is done.
 */

const ROUTES = 2_001;

function configText(routes: number): string {
  const lines = [
    "server: { listen: 127.0.0.1:0 }",
    "store: { path: ./data.db }",
    "routes:",
    "  - { name: probe, path: /probe, verify: { type: none }, targets: [ { name: t, type: http, url: 'http://127.0.0.1:9/x', retry: { attempts: 1 } } ] }",
  ];
  for (let i = 1; i < routes; i++) {
    lines.push(
      `  - name: r${i}`,
      `    path: /hooks/r${i}`,
      `    verify: { type: github, secret: "\${SECRET}-${i}" }`,
      `    filter: headers."x-github-event" = "push"`,
      "    targets:",
      `      - { name: a, type: http, url: "http://127.0.0.1:9/a${i}", filter: 'body.ref = "refs/heads/main"', transform: '{ "text": "push to " & body.repository.full_name }' }`,
      `      - { name: b, type: http, url: "http://127.0.0.1:9/b${i}", headers: { X-Route: "r${i}" } }`,
    );
  }
  return `${lines.join("\n")}\n`;
}

describe("e2e: a large reload", () => {
  let daemon: RunningDaemon | undefined;
  afterAll(async () => {
    await daemon?.stop();
  });

  it(`answers a request sent during a reload to ${ROUTES} routes before the reload is done`, async () => {
    const dir = tempDir("switchyard-big-reload-");
    const file = writeConfig(dir, configText(1));
    daemon = await startDaemon(file, { SECRET: "a-long-enough-secret" });
    const d = daemon;
    writeConfig(dir, configText(ROUTES));
    const seen = d.logs.length;
    const since = () => d.logs.slice(seen);
    const compiled = () => since().find((l) => l.msg === "config reload compiled" || String(l.msg).startsWith("config reload failed"));
    const finished = () => since().find((l) => l.msg === "config reloaded" || String(l.msg).startsWith("config reload failed"));
    d.proc.kill("SIGHUP");
    await waitFor(() => since().find((l) => l.msg === "config reload started"), "the reload to start", 60_000);
    const res = await post(`${d.url}/probe`, "{}");
    // Read the log as it stands when the answer came: the new config must still be being
    // loaded and compiled (the daemon logs "config reload compiled" the moment it is done).
    const compiledBeforeAnswer = compiled();
    expect(res.status).toBe(202);
    expect(compiledBeforeAnswer).toBeUndefined();
    const done = await waitFor(finished, "the reload to finish", 120_000);
    expect(done.msg).toBe("config reloaded");
    expect(done.routes).toBe(ROUTES);
  }, 180_000);
});
