import { closeSync, openSync, writeSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Duplex } from "node:stream";
import pino from "pino";
import { formatAddress, parseAddress } from "../config/addresses.js";
import type { CompiledConfig } from "../config/compile.js";
import { DEFAULT_INFLIGHT_BODIES, SERVER_DEFAULTS } from "../config/schema.js";
import { parseDuration, parseSize } from "../config/units.js";
import { UserError } from "../errors.js";
import type { InboundRequest } from "../plugins/verifiers/verifier.js";
import { BodyBudget } from "../server/body-budget.js";
import { listenOn } from "../server/listen-on.js";
import { createListener, type ListenerLimits } from "../server/listener.js";
import { readBody } from "../server/read-body.js";
import { firstValues, flattenHeaders } from "../server/request-parts.js";
import { printable } from "../telemetry/printable.js";
import { captureVerdict } from "./capture-verdict.js";
import { capturedLine } from "./captured-request.js";
import { loadForCli, print } from "./common.js";
import { requestText } from "./request-text.js";

/**
 * `switchyard capture`: a receiver that answers 200 to every request and prints it, for seeing
 * what a provider really sends. With a config it also says what the daemon would make of each
 * request; it never opens the store and never delivers. Its listener has the daemon's limits
 * (body_limit, header and request timeouts, max_connections, the in-flight body budget): it is
 * often pointed at the internet while a hook is being set up.
 */

export interface CaptureOptions {
  listen?: string;
  config?: string;
  out?: string;
  showSecrets?: boolean;
}

/** Where capture listens without --listen or -c: beside the daemon's default 8080, so both can run. */
export const DEFAULT_CAPTURE_LISTEN = "127.0.0.1:8081";

interface Settings {
  at: { host: string; port: number };
  from: string;
  limits: ListenerLimits;
  bodyLimit: number;
  inflightBodyLimit: number;
  config?: CompiledConfig;
}

function settings(options: CaptureOptions): Settings {
  if (options.config !== undefined) {
    // --listen wins over the config's server.listen (and SWITCHYARD_LISTEN), as for serve.
    const config = loadForCli(options.config, { listen: options.listen });
    const s = config.server;
    const limits = { maxConnections: s.maxConnections, headerTimeoutMs: s.headerTimeoutMs, requestTimeoutMs: s.requestTimeoutMs };
    return { at: s.listen, from: s.listenFrom, limits, bodyLimit: s.bodyLimit, inflightBodyLimit: s.inflightBodyLimit, config };
  }
  const bodyLimit = parseSize(SERVER_DEFAULTS.body_limit);
  return {
    at: parseAddress(options.listen ?? DEFAULT_CAPTURE_LISTEN),
    from: options.listen === undefined ? "capture's default address; choose another with --listen" : "--listen",
    limits: {
      maxConnections: SERVER_DEFAULTS.max_connections,
      headerTimeoutMs: parseDuration(SERVER_DEFAULTS.header_timeout),
      requestTimeoutMs: parseDuration(SERVER_DEFAULTS.request_timeout),
    },
    bodyLimit,
    inflightBodyLimit: DEFAULT_INFLIGHT_BODIES * bodyLimit,
  };
}

function reply(res: ServerResponse, status: number, body: unknown, close = false): void {
  if (res.headersSent || res.destroyed) return;
  // As Koa answers in the daemon: a string as text, anything else as JSON.
  const text = typeof body === "string" ? body : JSON.stringify(body);
  res.writeHead(status, {
    "Content-Type": typeof body === "string" ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
    ...(close ? { Connection: "close" } : {}),
  });
  res.end(text);
}

export async function capture(options: CaptureOptions): Promise<number> {
  const s = settings(options);
  // Opened before listening, so a path that cannot be written fails at once, not at the first
  // request. Mode 0600: the lines keep the requests whole, credentials included, for replay.
  let out: number | undefined;
  if (options.out !== undefined) {
    try {
      out = openSync(options.out, "a", 0o600);
    } catch (err) {
      throw new UserError(`cannot open ${options.out} for writing: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  const budget = new BodyBudget(() => s.inflightBodyLimit);
  const log = pino({ level: "warn", base: { service: "switchyard" } }, pino.destination(2));

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const receivedAt = new Date();
    const url = new URL(req.url ?? "/", "http://capture.invalid");
    const headers = flattenHeaders(req.headers);
    const remote = req.socket.remoteAddress ?? "?";
    const head = { receivedAt, method: req.method ?? "?", url: req.url ?? "/", remote, headers, showSecrets: options.showSecrets ?? false };
    const redact = s.config?.redact;
    const declared = req.headers["transfer-encoding"] !== undefined ? s.bodyLimit : Number(req.headers["content-length"] ?? 0);
    if (!Number.isFinite(declared) || declared > s.bodyLimit) {
      print(`${requestText({ ...head, redact })}answered 413: body over the limit of ${s.bodyLimit} bytes, not read`);
      return reply(res, 413, { error: "body too large" }, true);
    }
    const release = budget.reserve(declared);
    if (!release) {
      print(`--- ${receivedAt.toISOString()} answered 503: too many request bodies in flight`);
      return reply(res, 503, { error: "too many requests in flight" }, true);
    }
    res.once("close", release);
    if (/^100-continue$/i.test(req.headers.expect ?? "")) res.writeContinue();
    const body = await readBody(req, s.bodyLimit);
    if (!body.ok) {
      if (body.reason === "too_large") {
        print(`${requestText({ ...head, redact })}answered 413: body over the limit of ${s.bodyLimit} bytes, cut off`);
        return reply(res, 413, { error: "body too large" }, true);
      }
      return; // the client went away
    }
    const inbound: InboundRequest = {
      method: req.method ?? "",
      path: url.pathname,
      headers,
      query: firstValues(url.searchParams),
      rawBody: body.body,
      receivedAt: receivedAt.getTime(),
    };
    const verdict = s.config ? await captureVerdict(s.config, inbound) : undefined;
    // The verdict quotes request data too (a delivery id, a dedupe id): printable() as well.
    const verdictText = verdict ? printable(`${verdict.lines.map((l) => (redact ? redact(l) : l)).join("\n")}\n`) : "";
    // One write per request, so requests arriving together are never interleaved.
    print(`${requestText({ ...head, body: body.body, redact })}${verdictText}`);
    if (out !== undefined) {
      const { method, path, query } = inbound;
      writeSync(
        out,
        capturedLine({ receivedAt: receivedAt.toISOString(), method, path, query: { ...query }, headers: { ...headers } }, body.body),
      );
    }
    if (verdict?.handshake) return reply(res, verdict.handshake.status, verdict.handshake.body);
    reply(res, 200, { status: "captured" });
  };

  const server = createListener(
    (req, res) => {
      handle(req, res).catch((err: Error) => {
        log.error({ err: err.message }, "capture: request failed");
        reply(res, 500, { error: "internal error" });
      });
    },
    { limits: s.limits, log, name: "capture" },
  );
  // A request Node's HTTP parser refuses (a control character in a header, headers too large)
  // never reaches the handler: say so, or the user would see nothing at all for it.
  server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => {
    const code = err.code ?? err.message;
    if (code === "ECONNRESET" || !socket.writable) return void socket.destroy();
    const status =
      code === "HPE_HEADER_OVERFLOW"
        ? "431 Request Header Fields Too Large"
        : code === "ERR_HTTP_REQUEST_TIMEOUT"
          ? "408 Request Timeout"
          : "400 Bad Request";
    print(`--- ${new Date().toISOString()} answered ${status.slice(0, 3)}: the request is not valid HTTP (${printable(code)}), not shown`);
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  });
  const bound = await listenOn(server, s.at, s.from);
  print(`switchyard capture: listening on http://${formatAddress({ host: bound.address, port: bound.port })}`);
  if (s.config) print(`routes from ${s.config.file}: each request is checked as the daemon would; nothing is stored or delivered`);
  print("answering 200 to every request; Ctrl-C stops");

  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      server.close(() => resolve());
      server.closeAllConnections();
    };
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
  if (out !== undefined) closeSync(out);
  return 0;
}
