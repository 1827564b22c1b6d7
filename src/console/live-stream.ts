import type Koa from "koa";
import type { LiveFeed, LiveMessage } from "./live-feed.js";
import type { Rejection, Rejections } from "./rejections.js";

/**
 * `GET /api/v1/stream`: server-sent events for the console's live tail. Each client's unsent
 * bytes are bounded: a client that does not keep up is dropped (it reconnects and reloads the
 * list), never buffered without end. Clients are few (a person's browser tabs); more than
 * MAX_CLIENTS are refused.
 */

export const MAX_CLIENTS = 32;
/** Unsent bytes a client may fall behind by before it is dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** A comment line this often keeps proxies from closing an idle stream. */
const HEARTBEAT_MS = 15_000;

export class LiveStream {
  private clients = 0;

  constructor(
    private readonly feed: LiveFeed,
    private readonly rejections: Rejections,
  ) {}

  get connected(): number {
    return this.clients;
  }

  handle(ctx: Koa.Context): void {
    if (this.clients >= MAX_CLIENTS) {
      ctx.status = 503;
      ctx.body = { error: `too many live streams open (${MAX_CLIENTS}); close a console tab` };
      return;
    }
    this.clients++;
    const res = ctx.res;
    const socket = ctx.req.socket;
    socket.setTimeout(0);
    socket.setNoDelay(true);
    // Koa does not answer this one: the stream is written here until the client goes.
    ctx.respond = false;
    const headers: Record<string, string | string[] | number> = {};
    for (const [name, value] of Object.entries(ctx.response.headers)) if (value !== undefined) headers[name] = value;
    res.writeHead(200, {
      ...headers,
      "Content-Type": "text/event-stream; charset=utf-8",
      "Cache-Control": "no-store",
      "X-Accel-Buffering": "no",
    });
    res.write("retry: 2000\n: switchyard live tail\n\n");

    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      this.clients--;
      clearInterval(heartbeat);
      stopFeed();
      stopRejections();
      if (!res.writableEnded) res.end();
    };
    const send = (type: string, data: unknown) => {
      if (closed) return;
      if (res.writableLength > MAX_BUFFERED_BYTES) {
        // Too slow: dropped, and told so if the message still fits.
        res.end("event: dropped\ndata: {}\n\n");
        close();
        return;
      }
      res.write(`event: ${type}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    const stopFeed = this.feed.subscribe((m: LiveMessage) => send(m.type, m));
    const stopRejections = this.rejections.subscribe((r: Rejection) => send("rejection", r));
    const heartbeat = setInterval(() => {
      if (!closed) res.write(": keep-alive\n\n");
    }, HEARTBEAT_MS);
    heartbeat.unref();
    res.on("close", close);
    res.on("error", close);
  }
}
