import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer, type Server as HttpsServer } from "node:https";
import type { Logger } from "pino";

/**
 * An HTTP server that holds up against slow and abusive clients. Node's defaults are built for
 * trusted networks: an unlimited number of connections, and timeouts checked only every 30 s.
 */

export interface ListenerLimits {
  maxConnections: number;
  headerTimeoutMs: number;
  requestTimeoutMs: number;
}

/** How long an idle keep-alive connection is kept: enough for a provider's burst, no more. */
export const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Requests on one keep-alive connection before it is closed (nginx's keepalive_requests). */
export const MAX_REQUESTS_PER_SOCKET = 1_000;
/**
 * Headers beyond this count are dropped by Node (providers send about 20). Their total size is
 * capped by Node's --max-http-header-size, 16 KiB by default: larger gets 431.
 */
export const MAX_HEADERS_COUNT = 100;
/**
 * How often Node looks for connections past header_timeout and request_timeout. Node's default
 * of 30 s would let a slowloris client hold its connection for 30 s beyond the timeout.
 */
const CONNECTIONS_CHECK_INTERVAL_MS = 1_000;
/** One log line per this interval about refused connections, not one per connection. */
const DROP_LOG_INTERVAL_MS = 10_000;

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenerOptions {
  limits: ListenerLimits;
  log: Logger;
  /** Which listener, for the log. */
  name: string;
  /** Called for each connection closed at once because max_connections was reached. */
  onDrop?: () => void;
  /** Serve HTTPS with this certificate and key (`server.tls`). */
  tls?: { cert: Buffer; key: Buffer };
}

export function createListener(handler: RequestHandler, opts: ListenerOptions): Server {
  const { limits } = opts;
  const options = {
    headersTimeout: limits.headerTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    connectionsCheckingInterval: CONNECTIONS_CHECK_INTERVAL_MS,
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
  };
  const server: Server = opts.tls
    ? createHttpsServer({ ...options, cert: opts.tls.cert, key: opts.tls.key }, handler)
    : createServer(options, handler);
  server.maxHeadersCount = MAX_HEADERS_COUNT;
  server.maxRequestsPerSocket = MAX_REQUESTS_PER_SOCKET;
  applyListenerLimits(server, limits);
  // `Expect: 100-continue` (curl sends it for large bodies): no automatic "100 Continue". The
  // handler sends it only once the route, the method and the declared size are known to be
  // acceptable, so a body that will be refused is never invited.
  server.on("checkContinue", handler);
  let dropped = 0;
  let lastDropLog = 0;
  server.on("drop", () => {
    opts.onDrop?.();
    dropped++;
    const now = Date.now();
    if (now - lastDropLog < DROP_LOG_INTERVAL_MS) return;
    lastDropLog = now;
    opts.log.warn(
      { listener: opts.name, refused: dropped, maxConnections: server.maxConnections },
      "connections refused: server.max_connections reached",
    );
    dropped = 0;
  });
  return server;
}

/** The limits a reload may change on a running server (Node reads them on every check). */
export function applyListenerLimits(server: Server, limits: ListenerLimits): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headerTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
}

/**
 * A reload's new certificate and key on a running HTTPS listener: new connections get them,
 * open ones keep theirs (a certbot renewal needs no restart).
 */
export function applyListenerTls(server: Server, tls: { cert: Buffer; key: Buffer } | undefined): void {
  if (tls && "setSecureContext" in server) (server as HttpsServer).setSecureContext({ cert: tls.cert, key: tls.key });
}
