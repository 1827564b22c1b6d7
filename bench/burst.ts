import { Agent, request } from "node:http";
import type { Payload } from "./payload.js";

/** A fixed number of POSTs, for the scenarios that count events rather than seconds. */
export interface BurstResult {
  sent: number;
  /** Answers 2xx. */
  accepted: number;
  /** Answers with any other status, or no answer (a socket error). */
  failed: number;
  /** When the first and the last 2xx answer arrived (ms since the epoch). */
  firstAcceptAt: number;
  lastAcceptAt: number;
}

const REQUEST_TIMEOUT_MS = 10_000;

function postOnce(url: URL, payload: Payload, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: "POST",
        agent,
        headers: { ...payload.headers, "Content-Length": String(payload.body.length) },
        timeout: REQUEST_TIMEOUT_MS,
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
        res.on("error", () => resolve(0));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", () => resolve(0));
    req.end(payload.body);
  });
}

/**
 * POSTs `count` copies of the payload over `connections` keep-alive connections, each
 * connection sending its next request as soon as the previous answer arrives (as wrk does).
 */
export async function burst(url: string, payload: Payload, count: number, connections: number): Promise<BurstResult> {
  const target = new URL(url);
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const result: BurstResult = { sent: 0, accepted: 0, failed: 0, firstAcceptAt: 0, lastAcceptAt: 0 };
  const lane = async () => {
    while (result.sent < count) {
      result.sent++;
      const status = await postOnce(target, payload, agent);
      if (status >= 200 && status < 300) {
        const now = Date.now();
        if (result.accepted === 0) result.firstAcceptAt = now;
        result.accepted++;
        result.lastAcceptAt = now;
      } else {
        result.failed++;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: connections }, lane));
  } finally {
    agent.destroy();
  }
  return result;
}
