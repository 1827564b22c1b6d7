import { createHmac } from "node:crypto";

/**
 * Valid signatures computed here, from the providers' documented rules, independently of
 * src/plugins/verifiers: a test that used the verifiers' own sign() could not tell whether
 * they verify the right thing.
 */

function hmacOf(key: string | Buffer, ...parts: (string | Buffer)[]): Buffer {
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return h.digest();
}

/** GitHub: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function githubSignature(secret: string, body: Buffer): string {
  return `sha256=${hmacOf(secret, body).toString("hex")}`;
}

/** Stripe: `t=<unix>,v1=<hex HMAC-SHA256 of "{t}.{body}">`, keyed by the whole whsec_ string. */
export function stripeSignature(secret: string, body: Buffer, t: number): { t: string; v1: string } {
  return { t: String(t), v1: hmacOf(secret, `${t}.`, body).toString("hex") };
}

/** Standard Webhooks: `v1,<base64 HMAC-SHA256 of "{id}.{ts}.{body}">`, keyed by base64-decoding after whsec_. */
export function standardWebhooksSignature(secret: string, id: string, ts: number, body: Buffer): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ""), "base64");
  return hmacOf(key, `${id}.${ts}.`, body).toString("base64");
}
