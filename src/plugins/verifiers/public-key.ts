import { createPublicKey, type KeyObject, verify } from "node:crypto";
import { type InboundRequest, type SigningKeys, timestampFailure, type VerifyFailure } from "./verifier.js";

/** Ed25519 public keys are 32 raw bytes, which Discord writes in hex and Telnyx in base64. */
export function ed25519PublicKey(raw: Buffer | undefined, scheme: string): KeyObject {
  if (raw?.length !== 32) throw new Error(`${scheme}: public_key must be a 32-byte Ed25519 key`);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: raw.toString("base64url") }, format: "jwk" });
}

/** An EC P-256 key as DER SubjectPublicKeyInfo (SendGrid shows it base64-encoded, PEM without its lines). */
export function p256PublicKey(der: Buffer | undefined, scheme: string): KeyObject {
  let key: KeyObject | undefined;
  try {
    key = der ? createPublicKey({ key: der, format: "der", type: "spki" }) : undefined;
  } catch {
    key = undefined;
  }
  if (key?.asymmetricKeyType !== "ec" || key.asymmetricKeyDetails?.namedCurve !== "prime256v1") {
    throw new Error(`${scheme}: public_key must be a base64 EC P-256 public key (SubjectPublicKeyInfo)`);
  }
  return key;
}

/** Checks a signature without ever throwing: a malformed one is simply not valid. */
export function signatureValid(algorithm: "sha1" | "sha256" | null, data: Buffer, key: KeyObject, signature: Buffer): boolean {
  try {
    return verify(algorithm, data, key, signature);
  } catch {
    return false;
  }
}

/**
 * The `--private-key` that `sign` signs with: it must be there (only the provider holds the
 * real one), of the scheme's kind, and the pair of the configured public key, or the route
 * would refuse what `sign` prints.
 */
export function privateKeyFor(keys: SigningKeys | undefined, publicKey: KeyObject, scheme: string): KeyObject {
  const key = keys?.privateKey;
  if (!key)
    throw new Error(`${scheme} signs with a private key only the provider holds: give one of your own with --private-key FILE (PEM)`);
  const derived = createPublicKey(key);
  const same = derived.export({ format: "der", type: "spki" }).equals(publicKey.export({ format: "der", type: "spki" }));
  if (!same) throw new Error(`the --private-key is not the pair of this route's public_key, so the route would refuse what it signs`);
  return key;
}

/** How a scheme signs a timestamp and the body with its private key (Discord, Telnyx, SendGrid). */
export interface TimestampedSignature {
  /** Lower-cased header names. */
  signatureHeader: string;
  timestampHeader: string;
  /** The signature header's bytes, or undefined when they are not in its encoding. */
  decode(text: string): Buffer | undefined;
  /** Whether decoded bytes can be a signature of the key's kind at all. */
  wellFormed(signature: Buffer): boolean;
  /** What was signed. */
  message(timestamp: string, body: Buffer): Buffer;
  algorithm: "sha256" | null;
}

/** Why the request fails the check against `key`, or undefined when it is signed in time. */
export function checkTimestampedSignature(
  req: InboundRequest,
  key: KeyObject,
  toleranceMs: number,
  s: TimestampedSignature,
): VerifyFailure | undefined {
  const header = req.headers[s.signatureHeader];
  const ts = req.headers[s.timestampHeader];
  if (!header || !ts) return "missing_signature";
  const given = s.decode(header);
  const time = timestampFailure(ts, req.receivedAt, toleranceMs);
  if (!given || !s.wellFormed(given) || (time !== undefined && time !== "timestamp_out_of_tolerance")) return "malformed_signature";
  if (!signatureValid(s.algorithm, s.message(ts, req.rawBody), key, given)) return "signature_mismatch";
  // After the signature: this reason then only names genuine but old (replayed) requests.
  return time;
}
