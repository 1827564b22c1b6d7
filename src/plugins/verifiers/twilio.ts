import { createHash, randomUUID } from "node:crypto";
import { publicUrlOption, withAndWithoutPort } from "./public-url.js";
import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, parseJson, safeEqual } from "./verifier.js";

const SIGNATURE = "x-twilio-signature";
const BODY_HASH = "bodySHA256";

/**
 * Form fields as Twilio signs them: names sorted, each name followed by its value, a repeated
 * name once per distinct value in sorted order (as Twilio's own `getExpectedTwilioSignature`).
 */
function sortedFields(body: Buffer): string {
  const fields = new Map<string, Set<string>>();
  for (const [k, v] of new URLSearchParams(body.toString("utf8"))) {
    const values = fields.get(k) ?? new Set<string>();
    values.add(v);
    fields.set(k, values);
  }
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...fields.keys()]
    .sort(cmp)
    .map((k) =>
      [...(fields.get(k) ?? [])]
        .sort(cmp)
        .map((v) => k + v)
        .join(""),
    )
    .join("");
}

const isForm = (contentType: string | undefined) =>
  (contentType ?? "").split(";")[0]?.trim().toLowerCase() === "application/x-www-form-urlencoded";

const withQuery = (url: string, name: string, value: string) =>
  `${url}${url.includes("?") ? "&" : "?"}${name}=${encodeURIComponent(value)}`;

/**
 * Twilio: `X-Twilio-Signature: <base64 HMAC-SHA1 of the URL + sorted form fields>`, keyed with
 * the account's auth token. JSON bodies are not signed field by field: Twilio adds
 * `bodySHA256=<hex SHA-256 of the body>` to the URL and signs the URL alone.
 * https://www.twilio.com/docs/usage/webhooks/webhooks-security
 */
export const twilio = defineVerifier({
  type: "twilio",
  description:
    "`X-Twilio-Signature`: base64 HMAC-SHA1 of `url` + the sorted form fields, or of `url` + `bodySHA256` for JSON bodies, key = the auth token. Not timestamped: use `dedupe: true`",
  deliveryId: "`I-Twilio-Idempotency-Token`",
  properties: { url: publicUrlOption("Twilio") },
  create: (options, ctx) => ({
    verify(req) {
      const header = req.headers[SIGNATURE];
      if (!header) return { ok: false, reason: "missing_signature" };
      const given = decodeDigest(header, "base64", "sha1");
      if (!given) return { ok: false, reason: "malformed_signature" };
      const bodyHash = req.query[BODY_HASH];
      let signedUrl = options.url;
      let fields = "";
      if (bodyHash !== undefined) {
        // The URL's signature covers the hash; the hash must then cover the body.
        if (!safeEqual(createHash("sha256").update(req.rawBody).digest("hex"), bodyHash.toLowerCase())) {
          return { ok: false, reason: "signature_mismatch" };
        }
        signedUrl = withQuery(options.url, BODY_HASH, bodyHash);
      } else if (isForm(req.headers["content-type"])) {
        fields = sortedFields(req.rawBody);
      } else if (req.rawBody.length > 0) {
        // Any other body would be unsigned: Twilio never sends one without bodySHA256.
        return { ok: false, reason: "missing_signature" };
      }
      let ok = false;
      for (const url of withAndWithoutPort(signedUrl)) ok = anyKeyMatches(ctx.keys, given, "sha1", url, fields) || ok;
      if (!ok) return { ok: false, reason: "signature_mismatch" };
      // The same on each of Twilio's retries of one request.
      return accepted(req.headers["i-twilio-idempotency-token"]);
    },
    sign(body, _now, sent = {}) {
      const key = firstKey(ctx);
      if (isForm(sent["content-type"])) {
        return { headers: { "X-Twilio-Signature": hmac("sha1", key, options.url, sortedFields(body)).toString("base64") }, body };
      }
      const hash = createHash("sha256").update(body).digest("hex");
      const signature = hmac("sha1", key, withQuery(options.url, BODY_HASH, hash)).toString("base64");
      return { headers: { "X-Twilio-Signature": signature }, query: { [BODY_HASH]: hash }, body };
    },
    // Twilio's voice and messaging webhooks are forms; its newer products (Event Streams) send JSON.
    providerHeaders: (body) => ({
      ...(parseJson(body).ok ? {} : { "Content-Type": "application/x-www-form-urlencoded" }),
      "I-Twilio-Idempotency-Token": randomUUID(),
      "User-Agent": "TwilioProxy/1.1",
    }),
  }),
});
