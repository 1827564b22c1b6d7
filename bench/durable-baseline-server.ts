import { createHmac, timingSafeEqual } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

/**
 * The durable baseline of the ingest scenario: the least a webhook receiver can do and still
 * promise that a 202 survives a crash or a power loss — check GitHub's X-Hub-Signature-256 in
 * constant time, parse the JSON, insert the raw body into SQLite (WAL, synchronous = FULL) and
 * only then answer 202. The inserts that arrive in one turn of the event loop share one
 * transaction (group commit), so the fsync is paid once per turn, not once per request.
 * No framework, no routing, no worker: the floor any store-then-answer design pays here.
 *
 * Run by the bench as a child process: the secret comes in BENCH_SECRET, the database goes in
 * BENCH_DB_DIR (a fresh temp folder when unset), the port it got is printed as one JSON line,
 * and it exits when its stdin closes (the bench is gone).
 */

const secret = process.env.BENCH_SECRET;
if (!secret) {
  process.stderr.write("durable-baseline-server: BENCH_SECRET is not set\n");
  process.exit(2);
}
const ownDir = process.env.BENCH_DB_DIR ? undefined : mkdtempSync(join(tmpdir(), "durable-baseline-"));
const dir = process.env.BENCH_DB_DIR ?? (ownDir as string);
const PREFIX = "sha256=";
const ACCEPTED = JSON.stringify({ status: "accepted" });

const db = new Database(join(dir, "durable-baseline.db"));
db.pragma("journal_mode = WAL");
// FULL: every commit fsyncs the WAL before it returns, so the 202s after it are backed by the disk.
db.pragma("synchronous = FULL");
db.exec("CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY, received_at INTEGER NOT NULL, body BLOB NOT NULL)");
const insert = db.prepare<[number, Buffer]>("INSERT INTO events (received_at, body) VALUES (?, ?)");

interface Pending {
  body: Buffer;
  receivedAt: number;
  res: ServerResponse;
}
const batch = { items: [] as Pending[], scheduled: false };
const writeAll = db.transaction((items: readonly Pending[]) => {
  for (const p of items) insert.run(p.receivedAt, p.body);
});

/** One transaction for everything this turn parsed, then every 202 it covers. */
function commit(): void {
  const items = batch.items;
  batch.items = [];
  batch.scheduled = false;
  try {
    writeAll(items);
  } catch (err) {
    for (const p of items) p.res.writeHead(503, { "content-type": "application/json" }).end('{"error":"store unavailable"}');
    process.stderr.write(`durable-baseline-server: ${(err as Error).message}\n`);
    return;
  }
  for (const p of items) p.res.writeHead(202, { "content-type": "application/json" }).end(ACCEPTED);
}

function signatureMatches(header: string | string[] | undefined, body: Buffer): boolean {
  if (typeof header !== "string" || !header.startsWith(PREFIX)) return false;
  const given = Buffer.from(header.slice(PREFIX.length), "hex");
  const expected = createHmac("sha256", secret as string)
    .update(body)
    .digest();
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
    const body = Buffer.concat(chunks);
    if (!signatureMatches(req.headers["x-hub-signature-256"], body)) {
      res.writeHead(401, { "content-type": "application/json" }).end('{"error":"verification failed"}');
      return;
    }
    try {
      JSON.parse(body.toString("utf8"));
    } catch {
      res.writeHead(400, { "content-type": "application/json" }).end('{"error":"body is not valid JSON"}');
      return;
    }
    batch.items.push({ body, receivedAt: Date.now(), res });
    if (!batch.scheduled) {
      batch.scheduled = true;
      // After this turn's I/O callbacks: every request parsed in the turn joins the commit.
      setImmediate(commit);
    }
  });
});

function exit(): void {
  db.close();
  if (ownDir) rmSync(ownDir, { recursive: true, force: true });
  process.exit(0);
}

server.listen(0, "127.0.0.1", () => {
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
});
process.stdin.resume();
process.stdin.on("end", exit);
process.on("SIGTERM", exit);
