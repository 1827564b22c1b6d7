import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { FIXTURE } from "./paths.js";

/**
 * The one request every server gets: GitHub's real push payload, byte for byte, with the
 * headers GitHub sends. Same body every time, so the signature is computed once.
 */
export interface Payload {
  file: string;
  body: Buffer;
  secret: string;
  headers: Record<string, string>;
}

export const BENCH_SECRET = "switchyard-bench-secret";

export function signature(secret: string, body: Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

export function githubPayload(secret = BENCH_SECRET): Payload {
  const body = readFileSync(FIXTURE);
  return {
    file: FIXTURE,
    body,
    secret,
    headers: {
      "Content-Type": "application/json",
      "User-Agent": "GitHub-Hookshot/bench",
      "X-GitHub-Event": "push",
      // A fixed id: the bench routes do not dedupe, so every request is stored as a new event.
      "X-GitHub-Delivery": "00000000-0000-4000-8000-000000000000",
      "X-Hub-Signature-256": signature(secret, body),
    },
  };
}
