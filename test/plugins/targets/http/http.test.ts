import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createRedactor, REDACTED } from "../../../../src/pipeline/redact.js";
import { http } from "../../../../src/plugins/targets/http/http.js";
import type { DeliveryInput, Target } from "../../../../src/plugins/targets/target.js";
import { makeContext, makeEvent, never } from "../context.js";

interface Recorded {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  bytes: Buffer;
}

/** A real HTTP server on 127.0.0.1 that records what it gets and answers as the test says. */
class Sink {
  requests: Recorded[] = [];
  respond: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(200).end("ok");
  private server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      this.requests.push({
        method: req.method ?? "",
        url: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        bytes: Buffer.concat(chunks),
      });
      this.respond(req, res);
    });
  });
  url = "";
  async start(): Promise<void> {
    await new Promise<void>((ok) => this.server.listen(0, "127.0.0.1", ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }
}

let sink: Sink;
beforeEach(async () => {
  sink = new Sink();
  await sink.start();
});
afterEach(async () => {
  await sink.stop();
});

function target(options: Record<string, unknown>, timeoutMs = 2_000, redact?: (text: string) => string): Target {
  const { ctx } = makeContext("/tmp", timeoutMs, redact ? { redact } : {});
  return http.create({ name: "notify", type: "http", url: `${sink.url}/hook`, ...options } as never, ctx);
}

const pushEvent: DeliveryInput = { event: makeEvent({ ref: "refs/heads/main", repository: { full_name: "acme/app" } }) };

/** Writes `total` bytes in 64 KiB chunks, respecting backpressure; records how far it got. */
function stream(res: ServerResponse, total: number, progress: { written: number; finished: boolean }): void {
  const chunk = Buffer.alloc(64 * 1024, "x");
  const pump = () => {
    while (progress.written < total) {
      progress.written += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", pump);
    }
    progress.finished = true;
    res.end();
  };
  res.on("close", () => res.destroy());
  pump();
}

describe("http target: what is sent", () => {
  it("POSTs the event body as JSON with Switchyard's headers", async () => {
    const outcome = await target({}).deliver(pushEvent, never);
    expect(outcome).toMatchObject({ kind: "delivered", detail: "HTTP 200" });
    const [req] = sink.requests;
    expect(req?.method).toBe("POST");
    expect(req?.url).toBe("/hook");
    expect(JSON.parse(req?.body ?? "")).toEqual({ ref: "refs/heads/main", repository: { full_name: "acme/app" } });
    expect(req?.headers["content-type"]).toBe("application/json");
    expect(req?.headers["user-agent"]).toBe("Switchyard");
    expect(req?.headers["x-switchyard-event-id"]).toBe("evt_01");
    expect(req?.headers["x-switchyard-route"]).toBe("github");
  });

  it("sends a transformed string as text/plain", async () => {
    await target({ method: "PUT" }).deliver({ ...pushEvent, transformed: { value: "push to acme/app\nline two" } }, never);
    expect(sink.requests[0]).toMatchObject({ method: "PUT", body: "push to acme/app\nline two" });
    expect(sink.requests[0]?.headers["content-type"]).toBe("text/plain; charset=utf-8");
  });

  it("sends a transformed object as JSON, and a raw-text event body as text", async () => {
    const t = target({});
    await t.deliver({ ...pushEvent, transformed: { value: { text: "hi", n: [1, 2] } } }, never);
    await t.deliver({ event: makeEvent("alert=1&level=high") }, never);
    expect(sink.requests.map((r) => [r.headers["content-type"], r.body])).toEqual([
      ["application/json", '{"text":"hi","n":[1,2]}'],
      ["text/plain; charset=utf-8", "alert=1&level=high"],
    ]);
  });

  it("sends no body when the transform gives nothing, and none for GET", async () => {
    await target({ method: "PATCH" }).deliver({ ...pushEvent, transformed: { value: undefined } }, never);
    await target({ method: "GET" }).deliver(pushEvent, never);
    for (const r of sink.requests) {
      expect(r.body).toBe("");
      expect(r.headers["content-type"]).toBeUndefined();
    }
    expect(sink.requests.map((r) => r.method)).toEqual(["PATCH", "GET"]);
  });

  it("lets the user's headers override the defaults, whatever their case", async () => {
    await target({ headers: { "content-type": "application/vnd.acme+json", Authorization: "Bearer t0k", "X-Extra": "1" } }).deliver(
      pushEvent,
      never,
    );
    const h = sink.requests[0]?.headers;
    expect(h?.["content-type"]).toBe("application/vnd.acme+json");
    expect(h?.authorization).toBe("Bearer t0k");
    expect(h?.["x-extra"]).toBe("1");
  });

  it("turns user:password in the url into Basic authorization, and keeps it out of error texts", async () => {
    const withCreds = sink.url.replace("http://", "http://bob:s%40cret@");
    const { ctx } = makeContext("/tmp", 2_000);
    const t = http.create({ name: "n", type: "http", url: `${withCreds}/hook` } as never, ctx);
    await t.deliver(pushEvent, never);
    expect(sink.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from("bob:s@cret").toString("base64")}`);
    const rendered = await t.render(pushEvent);
    expect(rendered.url).toBe(`${sink.url}/hook`);

    await sink.stop();
    const outcome = await t.deliver(pushEvent, never);
    expect(outcome.kind).toBe("retry");
    expect(JSON.stringify(outcome)).not.toMatch(/cret|bob/);
    expect(outcome.kind === "retry" && outcome.error).toMatch(/^connection refused by 127\.0\.0\.1:\d+$/);
    sink = new Sink();
    await sink.start();
  });

  it("renders what it would send without sending it", async () => {
    const r = await target({ headers: { "X-A": "b" } }).render({ ...pushEvent, transformed: { value: { a: 1 } } });
    expect(r).toEqual({
      method: "POST",
      url: `${sink.url}/hook`,
      headers: {
        "User-Agent": "Switchyard",
        "Content-Type": "application/json",
        "X-Switchyard-Event-Id": "evt_01",
        "X-Switchyard-Route": "github",
        "X-A": "b",
      },
      body: '{"a":1}',
    });
    expect(sink.requests).toHaveLength(0);
  });
});

describe("http target: how answers are classified", () => {
  it.each([
    [200, "delivered"],
    [201, "delivered"],
    [204, "delivered"],
    [400, "fail"],
    [404, "fail"],
    [408, "retry"],
    [429, "retry"],
    [500, "retry"],
    [502, "retry"],
    [503, "retry"],
  ])("HTTP %i -> %s", async (status, kind) => {
    sink.respond = (_req, res) => res.writeHead(status).end(status === 204 ? undefined : "the answer");
    expect((await target({}).deliver(pushEvent, never)).kind).toBe(kind);
  });

  it("puts the start of the answer into the error text", async () => {
    sink.respond = (_req, res) => res.writeHead(500).end('{"error":  "database\n  is down"}');
    expect(await target({}).deliver(pushEvent, never)).toEqual({
      kind: "retry",
      error: 'HTTP 500 Internal Server Error: {"error": "database is down"}',
      // For the attempt log: the status and the answer as it came.
      status: 500,
      response: '{"error":  "database\n  is down"}',
    });
  });

  it("keeps the answer of a delivery, masked, for the attempt log", async () => {
    const secret = "tok-0123456789abcdef";
    sink.respond = (_req, res) => res.writeHead(201).end(`created; you sent ${secret}`);
    expect(await target({}, 2_000, createRedactor([secret])).deliver(pushEvent, never)).toEqual({
      kind: "delivered",
      detail: "HTTP 201",
      status: 201,
      response: `created; you sent ${REDACTED}`,
    });
  });

  it("masks a secret the answer echoes before cutting the answer short, so the cut cannot split it", async () => {
    const secret = "tok-0123456789abcdef";
    // The secret straddles the 500th character, where the error text is cut.
    sink.respond = (_req, res) => res.writeHead(401).end(`${"x".repeat(490)}${secret}${"y".repeat(100)}`);
    const o = await target({}, 2_000, createRedactor([secret])).deliver(pushEvent, never);
    expect(o.kind).toBe("fail");
    const error = o.kind === "fail" ? o.error : "";
    for (let n = 6; n <= secret.length; n++) expect(error).not.toContain(secret.slice(0, n));
    expect(error).toContain(REDACTED);
  });

  it("honours Retry-After on 429 (seconds) and 503 (HTTP-date)", async () => {
    sink.respond = (_req, res) => res.writeHead(429, { "Retry-After": "42" }).end();
    expect(await target({}).deliver(pushEvent, never)).toMatchObject({
      kind: "retry",
      error: "HTTP 429 Too Many Requests",
      retryAfterMs: 42_000,
    });

    const at = new Date(Date.now() + 90_000);
    sink.respond = (_req, res) => res.writeHead(503, { "Retry-After": at.toUTCString() }).end();
    const o = await target({}).deliver(pushEvent, never);
    expect(o.kind === "retry" && o.retryAfterMs).toBeGreaterThan(85_000);
    expect(o.kind === "retry" && o.retryAfterMs).toBeLessThanOrEqual(90_000);
  });

  it("ignores an unparseable Retry-After", async () => {
    sink.respond = (_req, res) => res.writeHead(503, { "Retry-After": "later, maybe" }).end();
    expect(await target({}).deliver(pushEvent, never)).toMatchObject({ kind: "retry", error: "HTTP 503 Service Unavailable" });
  });

  it("reads at most 64 KiB of a 100 MB error page and hangs up on the rest", async () => {
    const progress = { written: 0, finished: false };
    sink.respond = (_req, res) => {
      res.writeHead(500, { "Content-Type": "text/html" });
      stream(res, 100 * 1024 * 1024, progress);
    };
    const o = await target({}).deliver(pushEvent, never);
    expect(o.kind).toBe("retry");
    expect(o.kind === "retry" && o.error.length).toBeLessThan(600);
    expect(o.kind === "retry" && o.error).toMatch(/^HTTP 500 Internal Server Error: x+…$/);
    await new Promise((r) => setTimeout(r, 100));
    expect(progress.finished).toBe(false);
    expect(progress.written).toBeLessThan(50 * 1024 * 1024);
  });

  it("is delivered on a 2xx with a huge body, without reading it all", async () => {
    const progress = { written: 0, finished: false };
    sink.respond = (_req, res) => {
      res.writeHead(200);
      stream(res, 100 * 1024 * 1024, progress);
    };
    expect(await target({}).deliver(pushEvent, never)).toMatchObject({ kind: "delivered", detail: "HTTP 200" });
    expect(progress.finished).toBe(false);
  });
});

describe("http target: its answer to a webhook (respond)", () => {
  it("hands back status, end-to-end headers and the whole body when asked, secrets masked", async () => {
    const body = `<Response>${"x".repeat(100_000)} token-123</Response>`;
    sink.respond = (_req, res) => {
      res.writeHead(201, {
        "Content-Type": "text/xml",
        "X-Request-Id": "r1",
        "Keep-Alive": "timeout=5",
        Connection: "keep-alive, X-Private",
        "X-Private": "hop",
      });
      res.end(body);
    };
    const t = target({}, 2_000, (text) => text.replaceAll("token-123", REDACTED));
    const outcome = await t.deliver({ ...pushEvent, answer: { limit: 200_000 } }, never);
    expect(outcome.kind).toBe("delivered");
    if (outcome.answer?.kind !== "answer") throw new Error(`no answer: ${JSON.stringify(outcome.answer)}`);
    expect(outcome.answer.status).toBe(201);
    expect(outcome.answer.body.toString("utf8")).toBe(body.replace("token-123", REDACTED));
    expect(outcome.answer.headers).toMatchObject({ "content-type": "text/xml", "x-request-id": "r1" });
    for (const hop of ["connection", "keep-alive", "x-private", "content-length", "transfer-encoding"])
      expect(outcome.answer.headers[hop]).toBeUndefined();
    // Not asked: no answer kept, and the attempt log's excerpt is as before.
    expect((await t.deliver(pushEvent, never)).answer).toBeUndefined();
  });

  it("says too_large past the limit, and the delivery still succeeds; a failed delivery has no answer", async () => {
    sink.respond = (_req, res) => res.writeHead(200, { "Content-Type": "text/plain" }).end("y".repeat(2049));
    const over = await target({}).deliver({ ...pushEvent, answer: { limit: 2048 } }, never);
    expect(over).toMatchObject({ kind: "delivered", answer: { kind: "too_large", limit: 2048 } });
    sink.respond = (_req, res) => res.writeHead(503).end("busy");
    const failed = await target({}).deliver({ ...pushEvent, answer: { limit: 2048 } }, never);
    expect(failed.kind).toBe("retry");
    expect(failed.answer).toBeUndefined();
  });
});

describe("http target: redirects", () => {
  beforeEach(() => {
    sink.respond = (req, res) => {
      if (req.url === "/hook") return void res.writeHead(307, { Location: "/moved" }).end();
      if (req.url?.startsWith("/loop")) return void res.writeHead(307, { Location: `/loop${Number(req.url.slice(5) || 0) + 1}` }).end();
      res.writeHead(200).end();
    };
  });

  it("does not follow them by default: a permanent failure that says why", async () => {
    const o = await target({}).deliver(pushEvent, never);
    expect(o.kind).toBe("fail");
    expect(o.kind === "fail" && o.error).toMatch(/^HTTP 307 Temporary Redirect: redirects are not followed/);
    expect(sink.requests.map((r) => r.url)).toEqual(["/hook"]);
  });

  it("follows up to 5 with follow_redirects, replaying the body on a 307", async () => {
    expect(await target({ follow_redirects: true }).deliver(pushEvent, never)).toMatchObject({ kind: "delivered", detail: "HTTP 200" });
    expect(sink.requests.map((r) => [r.method, r.url])).toEqual([
      ["POST", "/hook"],
      ["POST", "/moved"],
    ]);
    expect(sink.requests[1]?.body).toBe(sink.requests[0]?.body);
  });

  it("gives up after 5 redirects: a permanent failure that says too many redirects", async () => {
    const { ctx } = makeContext("/tmp", 2_000);
    const t = http.create({ name: "n", type: "http", url: `${sink.url}/loop`, follow_redirects: true } as never, ctx);
    const o = await t.deliver(pushEvent, never);
    expect(o).toMatchObject({
      kind: "fail",
      error: "too many redirects: HTTP 307 still after following 5 (point url at the final address)",
    });
    expect(sink.requests).toHaveLength(6);
  });

  for (const [what, path, requests] of [
    ["a Location pointing at itself", "/self", 1],
    ["two addresses that point at each other", "/ping", 2],
  ] as const)
    it(`fails for good, at once, on a redirect loop: ${what}`, async () => {
      sink.respond = (req, res) => {
        const to = req.url === "/self" ? "/self" : req.url === "/ping" ? "/pong" : "/ping";
        res.writeHead(307, { Location: `${sink.url}${to}` }).end();
      };
      const { ctx } = makeContext("/tmp", 2_000);
      const t = http.create({ name: "n", type: "http", url: `${sink.url}${path}`, follow_redirects: true } as never, ctx);
      const o = await t.deliver(pushEvent, never);
      expect(o.kind).toBe("fail");
      expect(o.kind === "fail" && o.error).toMatch(/^redirect loop: a Location from 127\.0\.0\.1:\d+ leads back/);
      expect(sink.requests).toHaveLength(requests);
    });
});

describe("http target: when the target does not answer", () => {
  it("times out on a server that never answers", async () => {
    sink.respond = () => {};
    const started = Date.now();
    const o = await target({}, 300).deliver(pushEvent, never);
    expect(o).toMatchObject({ kind: "retry", error: "timed out after 300ms" });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("times out on a server that drips its answer, although every byte comes in time", async () => {
    sink.respond = (_req, res) => {
      res.writeHead(502);
      const drip = setInterval(() => res.write("."), 50);
      res.on("close", () => clearInterval(drip));
    };
    const started = Date.now();
    const o = await target({}, 500).deliver(pushEvent, never);
    expect(o.kind).toBe("retry");
    expect(o.kind === "retry" && o.error).toMatch(/^HTTP 502 Bad Gateway: \.+$/);
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it("retries when nothing listens", async () => {
    await sink.stop();
    const o = await target({}).deliver(pushEvent, never);
    expect(o.kind === "retry" && o.error).toMatch(/^connection refused by 127\.0\.0\.1:\d+$/);
    sink = new Sink();
    await sink.start();
  });

  it("stops when the signal aborts (shutdown)", async () => {
    sink.respond = () => {};
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const started = Date.now();
    const o = await target({}, 10_000).deliver(pushEvent, ac.signal);
    expect(o).toMatchObject({ kind: "retry", error: "aborted: the daemon is shutting down" });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("http target: config checks", () => {
  const { ctx } = makeContext("/tmp", 1_000);
  it.each([
    ["not a url", /url: is not a valid absolute URL: "not a url"/],
    ["ftp://files.lan/x", /must start with http:\/\/ or https:\/\//],
    ["/relative/path", /not a valid absolute URL/],
  ])("refuses url %j", (url, message) => {
    expect(() => http.create({ name: "n", type: "http", url } as never, ctx)).toThrow(message);
  });

  it("keeps credentials out of its own complaints", () => {
    expect(() => http.create({ name: "n", type: "http", url: "ftp://bob:hunter2@files.lan/" } as never, ctx)).toThrow(/^(?!.*hunter2)/);
  });

  it("refuses header values with line breaks", () => {
    expect(() => http.create({ name: "n", type: "http", url: "http://x.lan/", headers: { "X-A": "a\r\nEvil: 1" } } as never, ctx)).toThrow(
      /line break/,
    );
  });
});

describe("http target: forward raw", () => {
  const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

  it("sends the body bytes as received with their Content-Type, and the headers it is told to forward", async () => {
    const event = makeEvent("(derived)", {
      rawBody: ALL_BYTES,
      headers: { "content-type": "application/octet-stream", "x-hub-signature-256": "sha256=abc", "x-other": "kept back" },
    });
    const t = target({ forward: "raw", forward_headers: ["X-Hub-Signature-256", "x-github-event"], headers: { "X-Extra": "1" } });
    expect(await t.deliver({ event }, never)).toMatchObject({ kind: "delivered" });
    const got = sink.requests[0];
    expect(got?.bytes.equals(ALL_BYTES)).toBe(true);
    expect(got?.headers["content-type"]).toBe("application/octet-stream");
    expect(got?.headers["x-hub-signature-256"]).toBe("sha256=abc");
    // Not in the event: not sent. Not listed: not sent.
    expect(got?.headers["x-github-event"]).toBeUndefined();
    expect(got?.headers["x-other"]).toBeUndefined();
    expect(got?.headers["x-extra"]).toBe("1");
    expect(got?.headers["x-switchyard-event-id"]).toBe(event.id);
  });

  it("never parses a body it forwards raw, and JSON keeps its own spelling", async () => {
    const spelled = '{ "b" : 1 ,"a":2 }';
    const event = makeEvent(undefined, { rawBody: Buffer.from(spelled) });
    // A body read would throw: the raw path must not touch it.
    Object.defineProperty(event, "body", {
      get: () => {
        throw new Error("parsed");
      },
    });
    expect(await target({ forward: "raw" }).deliver({ event }, never)).toMatchObject({ kind: "delivered" });
    expect(sink.requests[0]?.body).toBe(spelled);
    expect(sink.requests[0]?.headers["content-type"]).toBe("application/json");
  });

  it("still sends the parsed body by default, and forwards listed headers there too", async () => {
    const event = makeEvent(
      { a: 1 },
      { rawBody: Buffer.from('{ "a" : 1 }'), headers: { "content-type": "application/json", "x-github-event": "push" } },
    );
    await target({ forward_headers: ["x-github-event"] }).deliver({ event }, never);
    expect(sink.requests[0]?.body).toBe('{"a":1}');
    expect(sink.requests[0]?.headers["x-github-event"]).toBe("push");
  });

  it("renders binary bytes for the dry run without printing them", async () => {
    const event = makeEvent("", { rawBody: ALL_BYTES, headers: { "content-type": "application/octet-stream" } });
    expect(await target({ forward: "raw" }).render({ event })).toMatchObject({ body: "(256 bytes as received, not UTF-8 text)" });
  });

  it("refuses what makes no sense with raw, naming the option", () => {
    const { ctx } = makeContext("/tmp", 1_000);
    const create = (o: Record<string, unknown>) => () => http.create({ name: "n", type: "http", url: "http://x.lan/", ...o } as never, ctx);
    expect(create({ forward: "raw", transform: "body.a" })).toThrow(/transform: cannot be used with forward: raw/);
    expect(create({ forward: "raw", method: "GET" })).toThrow(/method: GET sends no body/);
    expect(create({ forward_headers: ["x-a", "Content-Length"] })).toThrow(
      /forward_headers\.1: content-length describes the delivery itself/,
    );
  });
});
