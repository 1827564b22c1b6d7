import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The HTTP target Switchyard delivers to: reads each request whole and answers 200 at once,
 * counting what it got. `GET /stats` returns the count and the wall-clock times (ms since
 * the epoch, the same clock the bench reads) of the first and last delivery, so the bench can
 * time accepted → delivered without the sink reporting every request.
 *
 * A child process of the bench: prints its port as one JSON line, exits when stdin closes.
 */

let count = 0;
let firstAt = 0;
let lastAt = 0;

const server = createServer((req, res) => {
  if (req.method === "GET" && req.url === "/stats") {
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ count, firstAt, lastAt }));
    return;
  }
  if (req.method === "POST" && req.url === "/reset") {
    count = 0;
    firstAt = 0;
    lastAt = 0;
    res.writeHead(204).end();
    return;
  }
  req.resume();
  req.on("end", () => {
    const now = Date.now();
    if (count === 0) firstAt = now;
    count++;
    lastAt = now;
    res.writeHead(200, { "content-type": "text/plain" }).end("ok");
  });
});
server.keepAliveTimeout = 30_000;

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
