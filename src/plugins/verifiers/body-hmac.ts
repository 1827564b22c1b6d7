import type { HmacAlgorithm, Verifier, VerifierContext, VerifierPlugin } from "./verifier.js";
import { accepted, anyPairMatches, decodeDigest, defineVerifier, firstKey, hmac } from "./verifier.js";

/** How a sender puts an HMAC of the raw body in a header. */
export interface BodyHmacRule {
  /** Headers that may carry the signature, as `sign` writes them; the first present is read. */
  headers: readonly [string, ...string[]];
  prefix?: string;
  encoding: "hex" | "base64";
  /** Default sha256; Intercom and Vercel still sign with sha1. */
  algorithm?: HmacAlgorithm;
  /**
   * The header holds a list (`v1=<hex>,v1=<hex>`, PagerDuty while a secret rotates): entries
   * are split on this, and those starting with `prefix` are the signatures; any one may match.
   */
  separator?: string;
  /** The delivery id of a verified request (lower-case header names; the body for senders that put it there). */
  deliveryIdOf(headers: Readonly<Record<string, string>>, rawBody: Buffer): string | undefined;
  /** The headers the provider sends besides its signature, for `sign`'s sample request. */
  providerHeaders?: Verifier["providerHeaders"];
  handshake?: Verifier["handshake"];
}

/** A body-HMAC scheme: its rule, and its name and docs. */
export interface BodyHmacSpec extends BodyHmacRule {
  type: string;
  description: string;
  deliveryId: string;
}

/** The signatures a header carries, decoded; undefined when none is well-formed. */
function signaturesIn(header: string, spec: BodyHmacRule, prefix: string, algorithm: HmacAlgorithm): Buffer[] | undefined {
  const entries = spec.separator === undefined ? [header] : header.split(spec.separator).map((e) => e.trim());
  const out: Buffer[] = [];
  for (const entry of entries) {
    // Entries of another version (`v2=`) are not ours to check, and do not make the header malformed.
    const sig = entry.startsWith(prefix) ? decodeDigest(entry.slice(prefix.length), spec.encoding, algorithm) : undefined;
    if (sig) out.push(sig);
  }
  return out.length > 0 ? out : undefined;
}

/** The verifier of a body-HMAC scheme with its keys: for presets that add a handshake or options of their own. */
export function bodyHmacVerifier(spec: BodyHmacRule, ctx: VerifierContext): Verifier {
  const prefix = spec.prefix ?? "";
  const algorithm = spec.algorithm ?? "sha256";
  const names = spec.headers.map((h) => h.toLowerCase());
  return {
    verify(req) {
      const header = names.map((n) => req.headers[n]).find((v) => v !== undefined);
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = signaturesIn(header, spec, prefix, algorithm);
      if (!given) return { ok: false, reason: "malformed_signature" };
      const expected = ctx.keys.map((key) => hmac(algorithm, key, req.rawBody));
      if (!anyPairMatches(expected, given)) return { ok: false, reason: "signature_mismatch" };
      return accepted(spec.deliveryIdOf(req.headers, req.rawBody));
    },
    sign(body) {
      return { headers: { [spec.headers[0]]: prefix + hmac(algorithm, firstKey(ctx), body).toString(spec.encoding) }, body };
    },
    ...(spec.providerHeaders ? { providerHeaders: spec.providerHeaders } : {}),
    ...(spec.handshake ? { handshake: spec.handshake } : {}),
  };
}

/**
 * The most common scheme: a header holding `prefix` + the HMAC of the raw body, hex or base64,
 * and maybe a delivery id in another header. GitHub, Gitea, Bitbucket, Shopify and the presets
 * (Typeform, Intercom, Vercel, Sentry, Jira, CircleCI, PagerDuty) differ only in these names.
 */
export function defineBodyHmac(spec: BodyHmacSpec): VerifierPlugin {
  return defineVerifier({
    type: spec.type,
    description: spec.description,
    deliveryId: spec.deliveryId,
    create: (_options, ctx) => bodyHmacVerifier(spec, ctx),
  });
}
