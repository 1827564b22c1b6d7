import type { Verifier, VerifierPlugin } from "./verifier.js";
import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac } from "./verifier.js";

/**
 * The most common scheme: a header holding `prefix` + the HMAC-SHA256 of the raw body, hex or
 * base64, and maybe a delivery id in another header. GitHub, Gitea, Bitbucket and Shopify
 * differ only in these names.
 */
export function defineBodyHmac(spec: {
  type: string;
  description: string;
  deliveryId: string;
  /** Headers that may carry the signature, as `sign` writes them; the first present is read. */
  headers: readonly [string, ...string[]];
  prefix?: string;
  encoding: "hex" | "base64";
  /** The delivery id of a verified request (lower-case header names). */
  deliveryIdOf(headers: Readonly<Record<string, string>>): string | undefined;
  /** The headers the provider sends besides its signature, for `sign`'s sample request. */
  providerHeaders: NonNullable<Verifier["providerHeaders"]>;
  handshake?: Verifier["handshake"];
}): VerifierPlugin {
  const prefix = spec.prefix ?? "";
  const names = spec.headers.map((h) => h.toLowerCase());
  return defineVerifier({
    type: spec.type,
    description: spec.description,
    deliveryId: spec.deliveryId,
    create: (_options, ctx) => ({
      verify(req) {
        const header = names.map((n) => req.headers[n]).find((v) => v !== undefined);
        if (!header) return { ok: false, reason: "missing_signature" };
        const given = header.startsWith(prefix) ? decodeDigest(header.slice(prefix.length), spec.encoding, "sha256") : undefined;
        if (!given) return { ok: false, reason: "malformed_signature" };
        if (!anyKeyMatches(ctx.keys, given, "sha256", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
        return accepted(spec.deliveryIdOf(req.headers));
      },
      sign(body) {
        return { headers: { [spec.headers[0]]: prefix + hmac("sha256", firstKey(ctx), body).toString(spec.encoding) }, body };
      },
      providerHeaders: spec.providerHeaders,
      ...(spec.handshake ? { handshake: spec.handshake } : {}),
    }),
  });
}
