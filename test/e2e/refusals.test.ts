import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../server/raw-http.js";
import { type LogLine, post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A webhook that does nothing must say why in the log: refusals are logged with route and
 * reason, once, then summarised (a flood cannot fill the disk). And curl's `-d` default, the
 * form content type, is called out when the body is really JSON.
 */

const run = promisify(execFile);

describe("e2e: refused requests in the log", () => {
  let sink: Sink;
  let daemon: RunningDaemon;
  let port: number;

  beforeAll(async () => {
    const dir = tempDir();
    sink = await startSink();
    const config = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0, body_limit: 1kb }
store: { path: ./data/switchyard.db }
routes:
  - name: demo
    path: /hooks/demo
    verify: { type: token, secret: t0ken-t0ken }
    targets: [{ name: sink, type: http, url: "${sink.url}/demo" }]
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: whsec_refusals }
    targets: [{ name: sink, type: http, url: "${sink.url}/stripe" }]
`,
    );
    daemon = await startDaemon(config, { SWITCHYARD_LOG_LEVEL: "info" });
    port = Number(new URL(daemon.url).port);
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  const lines = (msg: RegExp, fields: Record<string, unknown> = {}): LogLine[] =>
    daemon.logs.filter((l) => msg.test(l.msg) && Object.entries(fields).every(([k, v]) => l[k] === v));

  it("logs a 413 with its route and reason once, however many follow", async () => {
    const head = (n: number) =>
      Buffer.from(`POST /hooks/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${n}\r\n\r\n`);
    for (let i = 0; i < 15; i++) expect((await rawRequest(port, [head(4096)])).status).toBe(413);
    const got = await waitFor(() => {
      const l = lines(/body is larger than server\.body_limit/, { route: "demo" });
      return l.length > 0 && l;
    }, "the 413 log line");
    // A chunked body that passes the limit while streaming is the same refusal.
    const chunked = await rawRequest(port, [
      Buffer.from("POST /hooks/demo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"),
      Buffer.from(`800\r\n${"a".repeat(0x800)}\r\n0\r\n\r\n`),
    ]);
    expect(chunked.status).toBe(413);
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ level: "info", route: "demo", status: 413, reason: "body_too_large", limit: 1024 });
    expect(lines(/body is larger/)).toHaveLength(1);
  });

  it("logs a wrong path with the path, a wrong method with the route, a bad signature and a non-JSON body with their reasons", async () => {
    expect((await post(`${daemon.url}/hooks/dmeo`, "{}")).status).toBe(404);
    expect((await fetch(`${daemon.url}/hooks/demo`)).status).toBe(405);
    expect((await post(`${daemon.url}/hooks/demo`, "{}", { authorization: "Bearer wrong" })).status).toBe(401);
    const t = Math.floor(Date.now() / 1000);
    const v1 = createHmac("sha256", "whsec_refusals").update(`${t}.not json`).digest("hex");
    expect((await post(`${daemon.url}/hooks/stripe`, "not json", { "stripe-signature": `t=${t},v1=${v1}` })).status).toBe(400);
    await waitFor(() => lines(/no route has this path/).length === 1 && lines(/POST only/).length === 1, "404 and 405 lines");
    expect(lines(/no route has this path/)[0]).toMatchObject({ level: "info", status: 404, path: "/hooks/dmeo", method: "POST" });
    expect(lines(/POST only/)[0]).toMatchObject({ level: "info", status: 405, route: "demo", method: "GET" });
    await waitFor(
      () => lines(/verification failed/, { route: "demo" }).length === 1 && lines(/not valid JSON/, { route: "stripe" }).length === 1,
      "the 401 and 400 lines",
    );
    expect(lines(/verification failed/, { route: "demo" })[0]).toMatchObject({ status: 401, reason: "signature_mismatch" });
    await waitFor(() => lines(/not valid JSON/, { route: "stripe" }).length === 1, "the non-JSON line");
    expect(lines(/not valid JSON/, { route: "stripe" })[0]).toMatchObject({ level: "info", status: 400, reason: "body_not_json" });
    // Again: counted, not logged.
    for (let i = 0; i < 5; i++) await post(`${daemon.url}/hooks/demo`, "{}", { authorization: "Bearer wrong" });
    expect(lines(/verification failed/, { route: "demo" })).toHaveLength(1);
    // Never the token itself.
    expect(JSON.stringify(daemon.logs)).not.toContain("wrong");
  });

  it("warns once per route that curl -d sent JSON as a form, naming the header to add", async () => {
    const send = () =>
      run("curl", ["-sS", "-H", "Authorization: Bearer t0ken-t0ken", "-d", '{"hello":"world"}', `${daemon.url}/hooks/demo`]);
    const first = await send();
    expect(JSON.parse(first.stdout)).toMatchObject({ status: "accepted" });
    await send();
    await waitFor(() => sink.requests.filter((r) => r.url === "/demo").length >= 2, "both deliveries");
    const warnings = lines(/curl's -d/, { route: "demo" });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.level).toBe("warn");
    expect(warnings[0]?.msg).toContain("-H 'Content-Type: application/json'");
    // What the target got is what the warning explains: the JSON as a form field's name.
    expect(JSON.parse(sink.requests.find((r) => r.url === "/demo")?.body ?? "")).toEqual({ '{"hello":"world"}': "" });
    // With the header, no warning and real JSON.
    await run("curl", [
      "-sS",
      "-H",
      "Authorization: Bearer t0ken-t0ken",
      "-H",
      "Content-Type: application/json",
      "-d",
      '{"a":1}',
      `${daemon.url}/hooks/demo`,
    ]);
    await waitFor(() => sink.requests.some((r) => r.body === '{"a":1}'), "the JSON delivery");
    expect(lines(/curl's -d/)).toHaveLength(1);
  });
});
