import { generateKeyPairSync, type KeyObject } from "node:crypto";

/** A fresh key pair of a public-key scheme's kind, with the public half as the scheme's config writes it. */
export function ed25519Pair(): { privateKey: KeyObject; publicKey: KeyObject; raw: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  return { privateKey, publicKey, raw };
}

export function p256Pair(): { privateKey: KeyObject; publicKey: KeyObject; spki: string } {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  return { privateKey, publicKey, spki: publicKey.export({ format: "der", type: "spki" }).toString("base64") };
}
