import type { AddressInfo } from "node:net";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { createListener, KEEP_ALIVE_TIMEOUT_MS, MAX_HEADERS_COUNT, MAX_REQUESTS_PER_SOCKET } from "../../src/server/listener.js";
import { rawRequest } from "./raw-http.js";

describe("createListener", () => {
  it("sets the limits, and keeps at most MAX_HEADERS_COUNT headers of a request", async () => {
    const server = createListener(
      (req, res) => {
        // req.headers is what the ingress reads (rawHeaders may keep a few more).
        res.end(String(Object.keys(req.headers).length));
      },
      { limits: { maxConnections: 7, headerTimeoutMs: 1_234, requestTimeoutMs: 5_678 }, log: pino({ level: "silent" }), name: "test" },
    );
    expect([server.maxConnections, server.headersTimeout, server.requestTimeout]).toEqual([7, 1_234, 5_678]);
    expect([server.keepAliveTimeout, server.maxRequestsPerSocket, server.maxHeadersCount]).toEqual([
      KEEP_ALIVE_TIMEOUT_MS,
      MAX_REQUESTS_PER_SOCKET,
      MAX_HEADERS_COUNT,
    ]);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    try {
      const headers = Array.from({ length: 150 }, (_, i) => `X-H${i}: ${i}\r\n`).join("");
      const answer = await rawRequest((server.address() as AddressInfo).port, [
        Buffer.from(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers}\r\n`),
      ]);
      expect(answer.status).toBe(200);
      expect(Number(answer.body)).toBe(MAX_HEADERS_COUNT);
    } finally {
      server.close();
    }
  });
});
