import type { InboundRequest, VerifyFailure } from "./verifier.js";
import { anyKeyMatches, decodeDigest, hmac, timestampFailure } from "./verifier.js";

/**
 * The `v0=<hex HMAC-SHA256 of "v0:{timestamp}:{raw body}">` signature that Slack and Zoom both
 * send, with the timestamp in a header of its own. Each scheme names its two headers.
 */
const PREFIX = "v0=";

export interface V0Headers {
  /** Lower-cased, as the request's headers are. */
  signature: string;
  timestamp: string;
}

/** Why the request fails the check, or undefined when one of the keys signed it in time. */
export function checkV0(req: InboundRequest, keys: readonly Buffer[], toleranceMs: number, names: V0Headers): VerifyFailure | undefined {
  const header = req.headers[names.signature];
  const ts = req.headers[names.timestamp];
  if (!header || !ts) return "missing_signature";
  const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
  const time = timestampFailure(ts, req.receivedAt, toleranceMs);
  if (!given || (time !== undefined && time !== "timestamp_out_of_tolerance")) return "malformed_signature";
  if (!anyKeyMatches(keys, given, "sha256", "v0:", ts, ":", req.rawBody)) return "signature_mismatch";
  // After the signature: this reason then only names genuine but old (replayed) requests.
  return time;
}

/** The timestamp (seconds) and signature header values for `body` signed at `now`. */
export function signV0(key: Buffer, body: Buffer, now: number): { timestamp: string; signature: string } {
  const timestamp = String(Math.floor(now / 1000));
  return { timestamp, signature: PREFIX + hmac("sha256", key, "v0:", timestamp, ":", body).toString("hex") };
}
