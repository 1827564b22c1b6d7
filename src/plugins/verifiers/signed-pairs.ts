import type { Verifier, VerifierPlugin } from "./verifier.js";
import {
  accepted,
  anyPairMatches,
  decodeDigest,
  defineVerifier,
  firstKey,
  hmac,
  type InboundRequest,
  timestampFailure,
} from "./verifier.js";

/** A header of `key=value` pairs: the timestamp under one key, hex HMAC-SHA256 signatures under another. */
function parsePairs(header: string, separator: string, tsKey: string, sigKey: string): { ts: string | undefined; sigs: Buffer[] } {
  let ts: string | undefined;
  const sigs: Buffer[] = [];
  for (const item of header.split(separator)) {
    const eq = item.indexOf("=");
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === tsKey && ts === undefined) ts = value;
    // Several signatures appear while a secret is rotated on the provider's side: any may match.
    const sig = key === sigKey ? decodeDigest(value, "hex", "sha256") : undefined;
    if (sig) sigs.push(sig);
  }
  return { ts, sigs };
}

/**
 * Stripe's shape, which Paddle, Tailscale and Calendly copied with other names: one header
 * `t=<unix seconds>,v1=<hex>` holding the timestamp and the HMAC-SHA256 of `{t}{joiner}{body}`.
 */
export function defineSignedPairs(spec: {
  type: string;
  description: string;
  deliveryId: string;
  /** The header, as `sign` writes it. */
  header: string;
  /** Between pairs: `,` or `;`. */
  separator: string;
  tsKey: string;
  sigKey: string;
  /** Between the timestamp and the body in the signed text. */
  joiner: string;
  /** The delivery id of a verified request. */
  deliveryIdOf?(req: InboundRequest): string | undefined;
  providerHeaders?: Verifier["providerHeaders"];
}): VerifierPlugin {
  const name = spec.header.toLowerCase();
  return defineVerifier({
    type: spec.type,
    description: spec.description,
    deliveryId: spec.deliveryId,
    timestamped: true,
    create: (_options, ctx) => ({
      verify(req) {
        const header = req.headers[name];
        if (!header) return { ok: false, reason: "missing_signature" };
        const { ts, sigs } = parsePairs(header, spec.separator, spec.tsKey, spec.sigKey);
        const time = timestampFailure(ts, req.receivedAt, ctx.toleranceMs);
        if (ts === undefined || sigs.length === 0 || (time !== undefined && time !== "timestamp_out_of_tolerance")) {
          return { ok: false, reason: "malformed_signature" };
        }
        const expected = ctx.keys.map((key) => hmac("sha256", key, ts, spec.joiner, req.rawBody));
        if (!anyPairMatches(expected, sigs)) return { ok: false, reason: "signature_mismatch" };
        // After the signature: this reason then only names genuine but old (replayed) requests.
        if (time) return { ok: false, reason: time };
        return accepted(spec.deliveryIdOf?.(req));
      },
      sign(body, now) {
        const ts = String(Math.floor(now / 1000));
        const sig = hmac("sha256", firstKey(ctx), ts, spec.joiner, body).toString("hex");
        return { headers: { [spec.header]: `${spec.tsKey}=${ts}${spec.separator}${spec.sigKey}=${sig}` }, body };
      },
      ...(spec.providerHeaders ? { providerHeaders: spec.providerHeaders } : {}),
    }),
  });
}
