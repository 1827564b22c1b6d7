import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * The raw-Node baseline of the ingest scenario: the least a webhook receiver can do and still
 * be correct — read the body, check GitHub's X-Hub-Signature-256 in constant time, answer
 * 202. No framework, no parsing, no storage: the ceiling Switchyard is measured against.
 *
 * Run by the bench as a child process: the secret comes in BENCH_SECRET, the port it got is
 * printed as one JSON line, and it exits when its stdin closes (the bench is gone).
 */

const secret = process.env.BENCH_SECRET;
if (!secret) {
  process.stderr.write("baseline-server: BENCH_SECRET is not set\n");
  process.exit(2);
}
const PREFIX = "sha256=";
const ACCEPTED = JSON.stringify({ status: "accepted" });

function signatureMatches(header: string | string[] | undefined, body: Buffer): boolean {
  if (typeof header !== "string" || !header.startsWith(PREFIX)) return false;
  const given = Buffer.from(header.slice(PREFIX.length), "hex");
  const expected = createHmac("sha256", secret as string)
    .update(body)
    .digest();
  // timingSafeEqual throws on a length mismatch; a short header is simply wrong.
  return given.length === expected.length && timingSafeEqual(given, expected);
}

const server = createServer((req, res) => {
  if (req.method !== "POST") {
    res.writeHead(405).end();
    return;
  }
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    if (!signatureMatches(req.headers["x-hub-signature-256"], Buffer.concat(chunks))) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"verification failed"}');
      return;
    }
    res.writeHead(202, { "content-type": "application/json" }).end(ACCEPTED);
  });
});

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on("end", () => process.exit(0));
