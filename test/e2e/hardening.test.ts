import { connect, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest, requestBytes } from "../server/raw-http.js";
import { githubSignature } from "../server/signers.js";
import { mountTmpfs, type Tmpfs } from "../server/tmpfs.js";
import { metric, type RunningDaemon, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * Slow and abusive clients against the built daemon: slowloris, bodies larger than they may be,
 * more connections than allowed, more body bytes in flight than budgeted. Each limit is set low
 * in the config so that the test takes seconds, and each test would fail without its limit.
 */

const SECRET = "hardening-e2e-secret";
const HEADER_TIMEOUT_MS = 2_000;
const REQUEST_TIMEOUT_MS = 6_000;
const MAX_CONNECTIONS = 20;

function signedRequest(body: string, extra: [string, string][] = []): Buffer {
  const bytes = Buffer.from(body);
  return requestBytes(
    "POST",
    "/hooks/gh",
    [
      ["Host", "127.0.0.1"],
      ["Connection", "close"],
      ["Content-Type", "application/json"],
      ["Content-Length", String(bytes.length)],
      ["X-GitHub-Event", "push"],
      ["X-Hub-Signature-256", githubSignature(SECRET, bytes)],
      ...extra,
    ],
    bytes,
  );
}

/** A connection we drive by hand; `closed` resolves with the time it was closed by the server. */
interface Held {
  socket: Socket;
  received: () => string;
  closed: Promise<number>;
}

function hold(port: number): Promise<Held> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", () => {});
    const closed = new Promise<number>((r) => socket.once("close", () => r(Date.now())));
    socket.once("connect", () => resolve({ socket, received: () => Buffer.concat(chunks).toString("latin1"), closed }));
    socket.once("error", reject);
  });
}

/** The one route both daemons here serve: GitHub-signed, delivering to the test's sink. */
const ROUTES = `routes:
  - name: gh
    path: /hooks/gh
    verify: { type: github, secret: ${SECRET} }
    targets:
      - { name: sink, type: http, url: "\${SINK_URL}/gh" }
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("e2e: slow and abusive clients", () => {
  let daemon: RunningDaemon;
  let sink: Sink;
  let port: number;

  beforeAll(async () => {
    const dir = tempDir();
    sink = await startSink();
    const config = writeConfig(
      dir,
      `
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  body_limit: 64kb
  inflight_body_limit: 128kb
  header_timeout: ${HEADER_TIMEOUT_MS}ms
  request_timeout: ${REQUEST_TIMEOUT_MS}ms
  max_connections: ${MAX_CONNECTIONS}
store: { path: ./data/switchyard.db }
${ROUTES}`,
    );
    daemon = await startDaemon(config, { SINK_URL: sink.url });
    port = Number(new URL(daemon.url).port);
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  it("cuts off slowloris clients at the header timeout, while a normal request goes through", async () => {
    const started = Date.now();
    const slow = await Promise.all(Array.from({ length: 5 }, () => hold(port)));
    const header = Buffer.from("POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    let stop = false;
    // One byte per 500 ms per connection: each byte arrives well within any idle timeout.
    const dribble = (async () => {
      for (let i = 0; i < header.length && !stop; i++) {
        for (const s of slow) if (!s.socket.destroyed) s.socket.write(header.subarray(i, i + 1));
        await sleep(500);
      }
    })();
    await sleep(600);
    const answer = await rawRequest(port, [signedRequest('{"ref":"refs/heads/main"}')]);
    const answeredAt = Date.now();
    expect(answer.status).toBe(202);

    const closedAt = await Promise.all(slow.map((s) => s.closed));
    stop = true;
    await dribble;
    // The normal request did not wait for the slow ones to be cut.
    expect(answeredAt).toBeLessThan(Math.min(...closedAt));
    for (const at of closedAt) {
      // Cut by the header timeout (checked every second), not by request_timeout or never.
      expect(at - started).toBeGreaterThanOrEqual(HEADER_TIMEOUT_MS - 100);
      expect(at - started).toBeLessThan(REQUEST_TIMEOUT_MS);
    }
    expect(slow[0]?.received()).toMatch(/^HTTP\/1\.1 408/);
    await waitFor(() => sink.requests.length >= 1, "the normal request's delivery");
  });

  it("answers 413 to a declared Content-Length over body_limit without reading the body, and never invites it", async () => {
    for (const expect100 of [false, true]) {
      const c = await hold(port);
      const head = [
        "POST /hooks/gh HTTP/1.1",
        "Host: 127.0.0.1",
        "Content-Type: application/json",
        `Content-Length: ${10 * 1024 * 1024}`,
        ...(expect100 ? ["Expect: 100-continue"] : []),
        "",
        "",
      ].join("\r\n");
      const sent = Date.now();
      c.socket.write(head); // and not one byte of the 10 MB
      const closedAt = await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
      expect(c.received()).not.toContain("100 Continue");
      // Answered and closed at once, not after request_timeout waiting for a body.
      expect(closedAt - sent).toBeLessThan(REQUEST_TIMEOUT_MS / 2);
    }
  });

  it("answers 413 to a chunked body the moment it passes body_limit, and closes the connection", async () => {
    const c = await hold(port);
    c.socket.write("POST /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n");
    const chunk = Buffer.concat([Buffer.from("4000\r\n"), Buffer.alloc(0x4000, 0x61), Buffer.from("\r\n")]);
    let sent = 0;
    let closed = false;
    void c.closed.then(() => {
      closed = true;
    });
    // Up to 4 MB at 16 KiB per 10 ms: a server that read it all would take 2.5 s and answer after.
    while (!closed && sent < 4 * 1024 * 1024) {
      if (!c.socket.destroyed) c.socket.write(chunk);
      sent += 0x4000;
      await sleep(10);
    }
    await c.closed;
    expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
    expect(c.received().toLowerCase()).toContain("connection: close");
    expect(sent).toBeLessThan(1024 * 1024);
  });

  it("refuses connections beyond max_connections at once and stays healthy; idle ones expire", async () => {
    const metricsBefore = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    const refusedBefore = metric(metricsBefore, "switchyard_ingress_refused_total", { reason: "max_connections" }) ?? 0;
    const opened = Date.now();
    const idle: Held[] = [];
    for (let i = 0; i < MAX_CONNECTIONS * 3; i++) idle.push(await hold(port));
    // Those beyond the cap are closed at once by the server, without a byte.
    const closedEarly = await Promise.all(idle.map((c) => Promise.race([c.closed.then(() => true), sleep(500).then(() => false)])));
    const refused = closedEarly.filter(Boolean).length;
    expect(refused).toBeGreaterThanOrEqual(MAX_CONNECTIONS * 2 - 2);
    expect(refused).toBeLessThanOrEqual(MAX_CONNECTIONS * 2);

    // The admin listener has its own cap: health, readiness and metrics answer meanwhile.
    expect((await fetch(`${daemon.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${daemon.adminUrl}/readyz`)).status).toBe(200);
    const metricsText = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metric(metricsText, "switchyard_ingress_refused_total", { reason: "max_connections" })).toBeGreaterThanOrEqual(
      refusedBefore + refused,
    );
    expect(daemon.logs.some((l) => l.msg === "connections refused: server.max_connections reached")).toBe(true);

    // The idle connections that were let in are cut at the header timeout; then webhooks flow again.
    await Promise.all(idle.map((c) => c.closed));
    expect(Date.now() - opened).toBeLessThan(REQUEST_TIMEOUT_MS);
    const answer = await rawRequest(port, [signedRequest('{"after":"idle"}')]);
    expect(answer.status).toBe(202);
    expect(daemon.proc.exitCode).toBeNull();
  });

  it("answers 503 + Retry-After when bodies in flight would pass inflight_body_limit, and recovers", async () => {
    // Two 60 KB bodies fill the 128 KB budget while their senders dawdle; a third is refused unread.
    const bodies = [0, 1].map((i) => JSON.stringify({ i, pad: "x".repeat(60_000) }));
    const slow = await Promise.all(bodies.map(() => hold(port)));
    slow.forEach((c, i) => {
      const bytes = signedRequest(bodies[i] as string);
      c.socket.write(bytes.subarray(0, bytes.length - 100)); // all but the last 100 bytes, for now
      c.socket.on("end", () => {});
    });
    await sleep(300);
    const third = await rawRequest(port, [signedRequest(JSON.stringify({ third: true, pad: "y".repeat(20_000) }))]);
    expect(third.status).toBe(503);
    expect(third.head.toLowerCase()).toContain("retry-after:");
    const metricsText = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    expect(metric(metricsText, "switchyard_ingress_refused_total", { reason: "inflight_body_limit" })).toBeGreaterThanOrEqual(1);

    // The two finish and are taken; their budget is given back, and the next request is taken too.
    slow.forEach((c, i) => {
      const bytes = signedRequest(bodies[i] as string);
      c.socket.write(bytes.subarray(bytes.length - 100));
    });
    await Promise.all(slow.map((c) => c.closed));
    for (const c of slow) expect(c.received()).toMatch(/^HTTP\/1\.1 202/);
    const after = await rawRequest(port, [signedRequest(JSON.stringify({ after: true, pad: "z".repeat(60_000) }))]);
    expect(after.status).toBe(202);
  });

  it("limits requests per keep-alive connection and closes idle keep-alive connections", async () => {
    const one = "GET /hooks/gh HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    const idleKeepAlive = (async () => {
      const c = await hold(port);
      const sent = Date.now();
      c.socket.write(one);
      const closedAt = await c.closed;
      expect(c.received()).toMatch(/^HTTP\/1\.1 405/);
      expect(c.received().toLowerCase()).toContain("keep-alive: timeout=5");
      // Closed by the server after keepAliveTimeout (5 s, checked every second), not kept forever.
      expect(closedAt - sent).toBeLessThan(8_000);
    })();
    // 1 001 pipelined requests on one connection: the 1 000th answer says close, the 1 001st is
    // refused (Node only asks the client to close), and the server closes the connection itself
    // after keepAliveTimeout.
    const sent = Date.now();
    const answer = await rawRequest(port, [Buffer.from(one.repeat(1_001))]);
    const text = answer.head + answer.body;
    const answers = text.split(/(?=HTTP\/1\.1 )/);
    expect(answers.length).toBe(1_001);
    expect(answers.slice(0, 1_000).every((a) => a.startsWith("HTTP/1.1 405"))).toBe(true);
    expect(answers[999]?.toLowerCase()).toContain("connection: close");
    expect(answers[1_000]).toMatch(/^HTTP\/1\.1 503/);
    expect(Date.now() - sent).toBeLessThan(8_000);
    await idleKeepAlive;
  }, 20_000);
});

const tmpfsProbe = mountTmpfs("64k");
const noTmpfs = typeof tmpfsProbe === "string" ? tmpfsProbe : undefined;
if (typeof tmpfsProbe !== "string") tmpfsProbe.unmount();
if (noTmpfs) console.warn(`SKIPPING the daemon's full-disk test: ${noTmpfs}`);

describe.skipIf(noTmpfs !== undefined)("e2e: the store's disk fills up", () => {
  let fs: Tmpfs;
  let daemon: RunningDaemon;
  let sink: Sink;
  let config: string;

  beforeAll(async () => {
    fs = mountTmpfs("2m") as Tmpfs;
    sink = await startSink();
    config = writeConfig(
      tempDir(),
      `
server: { listen: 127.0.0.1:0, admin: 127.0.0.1:0 }
store: { path: ${fs.dir}/switchyard.db }
${ROUTES}`,
    );
    daemon = await startDaemon(config, { SINK_URL: sink.url });
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
    fs?.unmount();
  });

  it("answers 503 and fails /readyz while the disk is full, acks nothing, and recovers without a restart", async () => {
    const port = Number(new URL(daemon.url).port);
    const send = (n: number) => rawRequest(port, [signedRequest(JSON.stringify({ n, pad: "p".repeat(8_000) }))]);
    const ready = async () => (await fetch(`${daemon.adminUrl}/readyz`)).status;
    expect((await send(1)).status).toBe(202);
    await waitFor(() => sink.requests.length === 1, "the first delivery");

    fs.fill();
    for (const n of [2, 3, 4]) {
      const answer = await send(n);
      expect(answer.status).toBe(503);
      expect(answer.head.toLowerCase()).toContain("retry-after:");
    }
    expect(await ready()).toBe(503);

    fs.free();
    await waitFor(async () => (await ready()) === 200, "/readyz to recover", 10_000);
    expect((await send(5)).status).toBe(202);
    await waitFor(() => sink.requests.length === 2, "the delivery after recovery");
    const delivered = sink.requests.map((r) => (JSON.parse(r.body) as { n: number }).n);
    expect(delivered).toEqual([1, 5]);
    const events = await runCli(["events", "--json", "-c", config], { SINK_URL: sink.url });
    expect((JSON.parse(events.stdout) as unknown[]).length).toBe(2);
    expect(daemon.proc.exitCode).toBeNull();
  });
});
