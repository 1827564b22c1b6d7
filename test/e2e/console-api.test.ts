import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cleanupAfterEach, post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The console's API on the admin listener, against the built daemon: real webhooks in, a real
 * HTTP target and a real command out, a real SQLite file underneath.
 */

const HOOK_TOKEN = "hook-token-0123456789";
const SINK_TOKEN = "sink-token-abcdef0123456789";
const ADMIN_TOKEN = "admin-token-0123456789abcdef";
const JSON_TYPE = { "Content-Type": "application/json" };

interface EventRow {
  id: string;
  route: string;
  receivedAt: string;
  deliveries: { id: string; target: string; state: string; attempts: number; lastError: string | null }[];
}
interface Attempt {
  attempt: number;
  startedAt: string;
  durationMs: number;
  outcome: string;
  status: number | null;
  exitCode: number | null;
  response: string | null;
  error: string | null;
}
interface EventDetail extends EventRow {
  request: {
    method: string;
    path: string;
    query: Record<string, string>;
    headers: Record<string, string>;
    bodyKind: string;
    body: unknown;
  };
  deliveries: (EventRow["deliveries"][number] & { attemptLog: Attempt[] })[];
}

async function api<T = unknown>(
  base: string,
  path: string,
  init: RequestInit = {},
): Promise<{ status: number; headers: Headers; body: T }> {
  const res = await fetch(`${base}${path}`, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
}

/** A route whose command fails until a file exists, an HTTP target that echoes its Authorization, and a token. */
function config(dir: string, sink: Sink, server = "listen: 127.0.0.1:0"): string {
  const gate = join(dir, "gate");
  return writeConfig(
    dir,
    `
server: { ${server} }
store: { path: ./data/switchyard.db }
routes:
  - name: hook
    path: /hook
    verify: { type: token, secret: "\${HOOK_TOKEN}" }
    targets:
      - name: sink
        type: http
        url: ${sink.url}/in
        headers: { Authorization: "Bearer \${SINK_TOKEN}" }
      - name: gated
        type: exec
        command: [/bin/sh, -c, 'echo "said: $SWITCHYARD_EVENT_ID"; test -e ${gate} || { echo "no gate" >&2; exit 3; }']
        retry: { attempts: 1 }
  - name: other
    path: /other
    verify: { type: none }
    targets:
      - { name: sink, type: http, url: ${sink.url}/other }
`,
  );
}

const env = { HOOK_TOKEN, SINK_TOKEN, ADMIN_TOKEN };
const hook = { Authorization: `Bearer ${HOOK_TOKEN}` };

describe("console API", () => {
  let dir: string;
  let sink: Sink;
  let daemon: RunningDaemon;
  const ids: string[] = [];

  beforeAll(async () => {
    dir = tempDir();
    sink = await startSink();
    // The target answers with what it was sent: its Authorization must not reach the attempt log.
    sink.respond = (req, res) => {
      res.writeHead(200, { "Content-Type": "text/plain" }).end(`took it; you said ${req.headers.authorization}`);
    };
    daemon = await startDaemon(config(dir, sink), env);
    for (let i = 0; i < 5; i++) {
      const res = await post(
        `${daemon.url}/hook?n=${i}`,
        JSON.stringify({ n: i, repository: { full_name: i === 3 ? "me/app" : "you/lib" } }),
        {
          ...hook,
          "X-Api-Key": "sender-private-key-value",
        },
      );
      expect(res.status).toBe(202);
      ids.push((res.json() as { id: string }).id);
    }
    expect((await post(`${daemon.url}/other`, "{}")).status).toBe(202);
    await waitFor(async () => {
      const { body } = await api<{ events: EventRow[] }>(daemon.adminUrl, "/api/v1/events?route=hook");
      return body.events.length === 5 && body.events.every((e) => e.deliveries.every((d) => d.state === "delivered" || d.state === "dead"));
    }, "every delivery to settle");
  }, 60_000);
  afterAll(async () => {
    await daemon?.stop("SIGKILL");
    await sink?.close();
  });

  it("lists events newest first with their deliveries, by cursor pages", async () => {
    const first = await api<{ events: EventRow[]; next: string | null }>(daemon.adminUrl, "/api/v1/events?limit=4");
    expect(first.status).toBe(200);
    expect(first.body.events.map((e) => e.route)).toEqual(["other", "hook", "hook", "hook"]);
    expect(first.body.events[1]).toMatchObject({
      id: ids[4],
      route: "hook",
      deliveries: [
        { target: "sink", state: "delivered", attempts: 1, lastError: null },
        { target: "gated", state: "dead", attempts: 1, lastError: "exit 3: no gate (gave up after 1 attempt)" },
      ],
    });
    expect(first.body.next).toEqual(expect.any(String));
    const second = await api<{ events: EventRow[]; next: string | null }>(
      daemon.adminUrl,
      `/api/v1/events?limit=4&before=${encodeURIComponent(first.body.next ?? "")}`,
    );
    expect(second.body.events.map((e) => e.id)).toEqual([ids[1], ids[0]]);
    expect(second.body.next).toBeNull();
  });

  it("filters by route, target and state, and searches with JSONata", async () => {
    const of = async (query: string) =>
      (await api<{ events: EventRow[] }>(daemon.adminUrl, `/api/v1/events?${query}`)).body.events.map((e) => e.id);
    expect(await of("route=other")).toHaveLength(1);
    expect(await of("route=hook&target=gated&state=dead")).toEqual([...ids].reverse());
    expect(await of("target=sink&state=dead")).toEqual([]);
    expect(await of(`q=${encodeURIComponent('body.repository.full_name = "me/app"')}`)).toEqual([ids[3]]);
    expect(await of(`q=${encodeURIComponent("query.n = '1'")}&route=hook`)).toEqual([ids[1]]);
    const since = (await api<EventDetail>(daemon.adminUrl, `/api/v1/events/${ids[2]}`)).body.receivedAt;
    expect(await of(`route=hook&since=${encodeURIComponent(since)}`)).toEqual([ids[4], ids[3], ids[2]]);
  });

  it("answers bad listing parameters with 400 and what is wrong", async () => {
    for (const [query, error] of [
      ["state=lost", /state must be one of pending, retrying, delivered, skipped, coalesced, dead/],
      ["q=body.(", /q: JSONata syntax error/],
      ["limit=0", /limit must be a whole number from 1 to 500/],
      ["before=nonsense", /before: not a cursor this store gave/],
      ["since=yesterday", /since must be an ISO time/],
    ] as const) {
      const res = await api<{ error: string }>(daemon.adminUrl, `/api/v1/events?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.body.error).toMatch(error);
    }
    expect((await api(daemon.adminUrl, "/api/v1/events/no-such-event")).status).toBe(404);
  });

  it("shows the request as received with credentials masked, and every attempt", async () => {
    const { status, body } = await api<EventDetail>(daemon.adminUrl, `/api/v1/events/${ids[0]}`);
    expect(status).toBe(200);
    expect(body.request).toMatchObject({ method: "POST", path: "/hook", query: { n: "0" }, bodyKind: "json" });
    expect(body.request.body).toEqual({ n: 0, repository: { full_name: "you/lib" } });
    expect(body.request.headers["x-api-key"]).toBe("[redacted]");
    expect(body.request.headers["content-type"]).toBe("application/json");
    // The route's own credential never reached the store.
    expect(body.request.headers.authorization).toBeUndefined();
    const [sinkDelivery, gated] = body.deliveries;
    expect(sinkDelivery?.attemptLog).toEqual([
      {
        attempt: 1,
        startedAt: expect.any(String),
        durationMs: expect.any(Number),
        outcome: "delivered",
        status: 200,
        exitCode: null,
        response: "took it; you said [redacted]",
        error: null,
      },
    ]);
    expect(gated?.attemptLog).toMatchObject([
      {
        attempt: 1,
        outcome: "dead",
        status: null,
        exitCode: 3,
        response: `said: ${ids[0]}\nno gate\n`,
        error: "exit 3: no gate (gave up after 1 attempt)",
      },
    ]);
    expect(JSON.stringify(body)).not.toContain(SINK_TOKEN);
    expect(JSON.stringify(body)).not.toContain("sender-private-key-value");
  });

  it("replays an event to one target, and dead letters by id, so that they are delivered", async () => {
    const before = sink.requests.length;
    const one = await api<{ replayed: number }>(daemon.adminUrl, `/api/v1/events/${ids[1]}/replay`, {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ targets: ["sink"] }),
    });
    expect(one).toMatchObject({ status: 200, body: { replayed: 1 } });
    await waitFor(() => sink.requests.length > before, "the replayed delivery");
    const unknown = await api<{ error: string }>(daemon.adminUrl, `/api/v1/events/${ids[1]}/replay`, {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ targets: ["nope"] }),
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/no delivery to nope/);

    writeFileSync(join(dir, "gate"), "");
    const dead = await api<{ deadLetters: { id: string; eventId: string }[] }>(daemon.adminUrl, "/api/v1/dead-letters");
    expect(dead.body.deadLetters).toHaveLength(5);
    const picked = dead.body.deadLetters.find((d) => d.eventId === ids[2]);
    const replay = await api(daemon.adminUrl, "/api/v1/dead-letters/replay", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ ids: [picked?.id, "d999999"] }),
    });
    expect(replay.body).toEqual({ replayed: 1, notFound: ["d999999"] });
    await waitFor(async () => {
      const { body } = await api<EventDetail>(daemon.adminUrl, `/api/v1/events/${ids[2]}`);
      const gated = body.deliveries.find((d) => d.target === "gated");
      return gated?.state === "delivered" && gated.attemptLog.length === 2 ? gated : undefined;
    }, "the replayed dead letter to be delivered");
    const rest = await api(daemon.adminUrl, "/api/v1/dead-letters/replay", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"route":"hook"}',
    });
    expect(rest.body).toEqual({ replayed: 4, notFound: [] });
    const bad = await api<{ error: string }>(daemon.adminUrl, "/api/v1/dead-letters/replay", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"all":true,"route":"hook"}',
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/exactly one of/);
    await waitFor(
      async () => (await api<{ deadLetters: unknown[] }>(daemon.adminUrl, "/api/v1/dead-letters")).body.deadLetters.length === 0,
      "no dead letters left",
    );
  });

  it("gives a signed curl line that sends the same request again, and the route accepts it", async () => {
    const { status, body } = await api<{ curl: string }>(daemon.adminUrl, `/api/v1/events/${ids[3]}/curl`);
    expect(status).toBe(200);
    expect(body.curl).toMatch(/^curl -sS -X POST 'http:\/\/127\.0\.0\.1:\d+\/hook\?n=3' /);
    // Run as a user pastes it into a shell.
    const run = spawnSync("/bin/sh", ["-c", body.curl], { encoding: "utf8", timeout: 20_000 });
    expect(run.status).toBe(0);
    const id = (JSON.parse(run.stdout) as { status: string; id: string }).id;
    const again = await api<EventDetail>(daemon.adminUrl, `/api/v1/events/${id}`);
    expect(again.body.request.body).toEqual({ n: 3, repository: { full_name: "me/app" } });
    expect(again.body.request.query).toEqual({ n: "3" });
    expect((await api(daemon.adminUrl, "/api/v1/events/nope/curl")).status).toBe(404);
  });

  it("tries a route as switchyard test does, with the target's credentials masked", async () => {
    const res = await api<{
      answer: number;
      verification: string;
      targets: { name: string; would: { headers: Record<string, string> } }[];
    }>(daemon.adminUrl, "/api/v1/routes/hook/test", {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ body: { n: 9 }, headers: { Authorization: `Bearer ${HOOK_TOKEN}` } }),
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ answer: 202, verification: "ok" });
    expect(res.body.targets[0]?.would.headers.Authorization).toBe("[redacted]");
    expect(JSON.stringify(res.body)).not.toContain(SINK_TOKEN);
    const unsigned = await api<{ answer: number }>(daemon.adminUrl, "/api/v1/routes/hook/test", {
      method: "POST",
      headers: JSON_TYPE,
      body: '{"body":"{}"}',
    });
    expect(unsigned.body.answer).toBe(401);
    expect(
      (await api(daemon.adminUrl, "/api/v1/routes/nope/test", { method: "POST", headers: JSON_TYPE, body: '{"body":"{}"}' })).status,
    ).toBe(404);
    expect((await api(daemon.adminUrl, "/api/v1/routes/hook/test", { method: "POST", headers: JSON_TYPE, body: "{" })).status).toBe(400);
  });

  it("lists refused requests without bodies or credential values, and says they are kept in memory", async () => {
    expect((await post(`${daemon.url}/hook`, '{"secret":"body-secret-value"}', { Authorization: "Bearer wrong-guess-value" })).status).toBe(
      401,
    );
    expect((await post(`${daemon.url}/nowhere?token=query-secret`, "{}")).status).toBe(404);
    const res = await api<{ storage: string; note: string; rejections: Record<string, unknown>[] }>(daemon.adminUrl, "/api/v1/rejections");
    expect(res.body.storage).toBe("memory");
    expect(res.body.note).toMatch(/in memory only.*restart empties it/);
    expect(res.body.rejections.slice(0, 2)).toMatchObject([
      { status: 404, reason: "no_route", path: "/nowhere", method: "POST", remoteAddress: expect.stringMatching(/127\.0\.0\.1/) },
      { status: 401, route: "hook", reason: "signature_mismatch", headerNames: expect.arrayContaining(["authorization", "content-type"]) },
    ]);
    const text = JSON.stringify(res.body);
    for (const secret of ["body-secret-value", "wrong-guess-value", "query-secret"]) expect(text).not.toContain(secret);
  });

  it("streams new events and delivery changes as server-sent events", async () => {
    const seen: string[] = [];
    const req = httpRequest(`${daemon.adminUrl}/api/v1/stream`);
    const opened = new Promise<import("node:http").IncomingMessage>((resolve) => req.on("response", resolve));
    req.end();
    const res = await opened;
    try {
      expect(res.statusCode).toBe(200);
      expect(res.headers["content-type"]).toMatch(/^text\/event-stream/);
      expect(res.headers["x-frame-options"]).toBe("DENY");
      res.setEncoding("utf8").on("data", (chunk: string) => seen.push(chunk));
      const sent = await post(`${daemon.url}/other`, '{"live":true}');
      const id = (sent.json() as { id: string }).id;
      await waitFor(() => seen.join("").includes(`"eventId":"${id}"`), "the delivery on the stream");
      const text = seen.join("");
      expect(text).toContain(`event: event\ndata: {"type":"event","id":"${id}","route":"other"`);
      expect(text).toMatch(
        new RegExp(
          `event: delivery\\ndata: \\{"type":"delivery","eventId":"${id}","id":"\\d+","route":"other","target":"sink","state":"delivered"`,
        ),
      );
      expect((await api<{ liveStreams: number }>(daemon.adminUrl, "/api/v1/status")).body.liveStreams).toBe(1);
    } finally {
      req.destroy();
    }
    await waitFor(
      async () => (await api<{ liveStreams: number }>(daemon.adminUrl, "/api/v1/status")).body.liveStreams === 0,
      "the stream to close",
    );
  });

  it("sends the console's security headers and no CORS headers, and wants JSON for writes", async () => {
    const res = await fetch(`${daemon.adminUrl}/api/v1/status`, { headers: { Origin: "http://evil.example" } });
    expect(res.headers.get("content-security-policy")).toBe("default-src 'self'");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect([...res.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    const preflight = await fetch(`${daemon.adminUrl}/api/v1/dead-letters/replay`, {
      method: "OPTIONS",
      headers: { Origin: "http://evil.example", "Access-Control-Request-Method": "POST" },
    });
    expect([...preflight.headers.keys()].filter((k) => k.startsWith("access-control-"))).toEqual([]);
    for (const type of [undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      const write = await api<{ error: string }>(daemon.adminUrl, "/api/v1/dead-letters/replay", {
        method: "POST",
        headers: type ? { "Content-Type": type } : {},
        body: '{"all":true}',
      });
      expect(write.status, String(type)).toBe(415);
      expect(write.body.error).toMatch(/Content-Type: application\/json/);
    }
  });

  it("without admin_token answers only requests addressed to an IP address or localhost (no DNS rebinding)", async () => {
    const url = new URL(daemon.adminUrl);
    const withHost = (host: string, method = "GET", path = "/api/v1/events") =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = httpRequest(
          { host: url.hostname, port: url.port, path, method, headers: { Host: host, "Content-Type": "application/json" } },
          (res) => {
            let body = "";
            res.setEncoding("utf8").on("data", (c: string) => {
              body += c;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          },
        );
        req.on("error", reject);
        req.end(method === "POST" ? '{"all":true}' : undefined);
      });
    // A page of another site that points its own name at 127.0.0.1 still sends that name.
    for (const host of [`rebind.evil.example:${url.port}`, "evil.example"]) {
      const read = await withHost(host);
      expect(read.status, host).toBe(403);
      expect(read.body).toContain("server.admin_token");
      expect(read.body).not.toContain(ids[0]);
      expect((await withHost(host, "POST", "/api/v1/dead-letters/replay")).status, host).toBe(403);
    }
    for (const host of [`127.0.0.1:${url.port}`, `localhost:${url.port}`, "[::1]", "LOCALHOST"]) {
      expect((await withHost(host)).status, host).toBe(200);
    }
  });

  it("says what the last reload did, with the error text and line of a failed one", async () => {
    const file = join(dir, "switchyard.yaml");
    const good = (await import("node:fs")).readFileSync(file, "utf8");
    writeFileSync(file, `${good}\n  - name: broken\n    path: /broken\n    verify: { type: nope }\n    targets: []\n`);
    const failed = await waitFor(async () => {
      const { body } = await api<{ lastReload: { ok: boolean; errors: { message: string; line?: number }[] } | null }>(
        daemon.adminUrl,
        "/api/v1/status",
      );
      return body.lastReload?.ok === false ? body.lastReload : undefined;
    }, "the failed reload");
    expect(failed.errors[0]?.message).toContain("routes[2].verify");
    expect(failed.errors[0]?.line).toEqual(expect.any(Number));
    writeFileSync(file, good);
    await waitFor(
      async () => (await api<{ lastReload: { ok: boolean } | null }>(daemon.adminUrl, "/api/v1/status")).body.lastReload?.ok === true,
      "the good reload",
    );
    const status = await api<Record<string, unknown>>(daemon.adminUrl, "/api/v1/status");
    expect(status.body).toMatchObject({ service: "switchyard", config: file, store: "sqlite", uptimeSeconds: expect.any(Number) });
  });
});

describe("console API: counts that survive a restart", () => {
  const { track } = cleanupAfterEach();

  it("keeps the routes' counts and the targets' deliveries across a restart", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    const file = config(dir, sink);
    let daemon = track(await startDaemon(file, env));
    for (let i = 0; i < 3; i++) expect((await post(`${daemon.url}/other`, "{}")).status).toBe(202);
    expect((await post(`${daemon.url}/hook`, "{}", { Authorization: "Bearer wrong" })).status).toBe(401);
    await waitFor(() => sink.requests.length === 3, "three deliveries");
    expect(await daemon.stop()).toBe(0);
    daemon = track(await startDaemon(file, env));
    const { body } = await api<{ routes: Record<string, unknown>[] }>(daemon.adminUrl, "/api/v1/routes");
    const [hookRoute, other] = body.routes as {
      name: string;
      received: number;
      refused: number;
      accepted: number;
      lastHour: Record<string, number>;
      rate: { hour: { series: Record<string, number[]> } };
      targets: Record<string, unknown>[];
    }[];
    expect(hookRoute).toMatchObject({ name: "hook", received: 1, refused: 1, accepted: 0 });
    expect(other).toMatchObject({ name: "other", received: 3, accepted: 3, refused: 0, lastHour: { received: 3, accepted: 3 } });
    expect(other?.rate.hour.series.accepted?.reduce((a, b) => a + b, 0)).toBe(3);
    expect(other?.rate.hour.series.accepted).toHaveLength(60);
    expect(other?.targets[0]).toMatchObject({
      name: "sink",
      type: "http",
      delivered: 3,
      failing: 0,
      dead: 0,
      successRate: 1,
      latencyMs: { p50: expect.any(Number), p95: expect.any(Number) },
      queueDepth: { pending: 0, retrying: 0 },
      lastError: null,
    });
  }, 60_000);
});

describe("console API: write rules on an admin address that is not loopback", () => {
  const { track } = cleanupAfterEach();

  it("refuses writes with 403 without admin_token, and wants the token once it is set", async () => {
    const dir = tempDir();
    const sink = track(await startSink());
    let daemon = track(await startDaemon(config(dir, sink, "listen: 127.0.0.1:0, admin: 0.0.0.0:0"), env));
    const write = (headers: Record<string, string> = {}) =>
      api<{ error: string }>(daemon.adminUrl, "/api/v1/dead-letters/replay", {
        method: "POST",
        headers: { ...JSON_TYPE, ...headers },
        body: '{"all":true}',
      });
    const refused = await write();
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/not loopback and server\.admin_token is not set/);
    expect(refused.headers.get("x-frame-options")).toBe("DENY");
    expect((await api(daemon.adminUrl, "/api/v1/events")).status).toBe(200);
    // The admin listener's own 404 carries the headers too.
    const missing = await fetch(`${daemon.adminUrl}/nowhere`);
    expect(missing.status).toBe(404);
    expect(missing.headers.get("content-security-policy")).toBe("default-src 'self'");
    await daemon.stop();

    daemon = track(await startDaemon(config(dir, sink, 'listen: 127.0.0.1:0, admin: 0.0.0.0:0, admin_token: "${ADMIN_TOKEN}"'), env));
    expect((await write()).status).toBe(401);
    expect((await write({ Authorization: "Bearer wrong-token-0123456789abcdef" })).status).toBe(401);
    expect((await api(daemon.adminUrl, "/api/v1/events")).status).toBe(401);
    const ok = await write({ Authorization: `Bearer ${ADMIN_TOKEN}` });
    expect(ok).toMatchObject({ status: 200, body: { replayed: 0, notFound: [] } });
  }, 60_000);
});
