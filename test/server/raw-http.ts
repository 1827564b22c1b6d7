import { connect } from "node:net";

/** An HTTP answer read off a raw socket; status 0 when the server closed without answering. */
export interface RawAnswer {
  status: number;
  head: string;
  body: string;
}

/**
 * Writes `parts` (with `gapMs` between them) to a fresh connection and reads until the server
 * closes it. A raw socket sends what node:http's client would refuse to: duplicate or invalid
 * headers, lying Content-Lengths, chunk boundaries anywhere.
 */
export function rawRequest(port: number, parts: readonly Buffer[], opts: { gapMs?: number; timeoutMs?: number } = {}): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1");
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of answer within ${opts.timeoutMs ?? 10_000} ms`));
    }, opts.timeoutMs ?? 10_000);
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(received).toString("latin1");
      const split = text.indexOf("\r\n\r\n");
      // Skip interim answers (100 Continue) to the final one.
      const finals = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])).filter((s) => s >= 200);
      resolve({
        status: finals[0] ?? 0,
        head: split === -1 ? text : text.slice(0, split),
        body: split === -1 ? "" : text.slice(split + 4),
      });
    };
    socket.on("data", (chunk: Buffer) => received.push(chunk));
    socket.on("close", done);
    // A server that answers early and closes may reset us while we still write: keep what arrived.
    socket.on("error", () => {});
    socket.once("connect", async () => {
      for (const [i, part] of parts.entries()) {
        if (socket.destroyed) return;
        socket.write(part);
        if (opts.gapMs && i < parts.length - 1) await new Promise((r) => setTimeout(r, opts.gapMs));
      }
    });
  });
}

/** A request's bytes: request line, headers in the given order (duplicates allowed), body. */
export function requestBytes(method: string, target: string, headers: readonly (readonly [string, string])[], body: Buffer): Buffer {
  const head = [`${method} ${target} HTTP/1.1`, ...headers.map(([n, v]) => `${n}: ${v}`), "", ""].join("\r\n");
  return Buffer.concat([Buffer.from(head, "latin1"), body]);
}

/** `body` in chunked transfer coding, cut at the given sizes. */
export function chunked(body: Buffer, sizes: readonly number[]): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (const size of [...sizes, body.length]) {
    if (at >= body.length) break;
    const piece = body.subarray(at, Math.min(body.length, at + Math.max(1, size)));
    at += piece.length;
    out.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from("\r\n"));
  }
  out.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(out);
}
