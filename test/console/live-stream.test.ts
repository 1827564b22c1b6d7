import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { connect } from "node:net";
import Koa from "koa";
import { afterEach, describe, expect, it } from "vitest";
import { LiveFeed } from "../../src/console/live-feed.js";
import { LiveStream, MAX_CLIENTS } from "../../src/console/live-stream.js";
import { Rejections } from "../../src/console/rejections.js";
import { waitFor } from "../e2e/harness.js";

/**
 * The live tail's bounds, over real sockets: a client that stops reading is dropped once it is
 * a bounded amount behind (the daemon's memory does not grow with it), and a fast one is not.
 */

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

async function serve(stream: LiveStream): Promise<number> {
  const app = new Koa();
  app.use((ctx) => stream.handle(ctx));
  const server = createServer(app.callback());
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

function big(n: number) {
  return {
    type: "delivery" as const,
    eventId: `e${n}`,
    id: String(n),
    route: "r",
    target: "t",
    state: "retrying" as const,
    attempt: 1,
    error: "x".repeat(512 * 1024),
  };
}

describe("live stream", () => {
  it("drops a client that stops reading, instead of buffering for it", async () => {
    const feed = new LiveFeed();
    const stream = new LiveStream(feed, new Rejections());
    const port = await serve(stream);
    const socket = connect(port, "127.0.0.1");
    let closed = false;
    socket.on("close", () => {
      closed = true;
    });
    socket.on("error", () => undefined);
    socket.write("GET /api/v1/stream HTTP/1.1\r\nHost: x\r\n\r\n");
    await waitFor(() => stream.connected === 1, "the stream to open");
    socket.pause();
    // Far more than any socket buffer holds; the client reads none of it.
    for (let i = 0; i < 200 && stream.connected === 1; i++) {
      feed.publish(() => big(i));
      await new Promise((r) => setImmediate(r));
    }
    await waitFor(() => stream.connected === 0, "the slow client to be dropped");
    expect(feed.listening).toBe(false);
    socket.resume();
    await waitFor(() => closed, "the connection to end");
  });

  it("keeps a client that reads, and refuses more than MAX_CLIENTS", async () => {
    const feed = new LiveFeed();
    const stream = new LiveStream(feed, new Rejections());
    const port = await serve(stream);
    const controller = new AbortController();
    const res = await fetch(`http://127.0.0.1:${port}/`, { signal: controller.signal });
    const reader = res.body!.getReader();
    let got = 0;
    const reading = (async () => {
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        got += value?.length ?? 0;
      }
    })();
    for (let i = 0; i < 20; i++) {
      feed.publish(() => big(i));
      await waitFor(() => got > (i + 1) * 512 * 1024, "the client to read it");
    }
    expect(stream.connected).toBe(1);
    const extra: AbortController[] = [];
    for (let i = 1; i < MAX_CLIENTS; i++) {
      const c = new AbortController();
      extra.push(c);
      await fetch(`http://127.0.0.1:${port}/`, { signal: c.signal });
    }
    expect(stream.connected).toBe(MAX_CLIENTS);
    const refused = await fetch(`http://127.0.0.1:${port}/`);
    expect(refused.status).toBe(503);
    for (const c of [controller, ...extra]) c.abort();
    await reading;
    await waitFor(() => stream.connected === 0, "every stream to close");
  });
});
