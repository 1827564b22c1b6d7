import { publicUrlOption } from "./public-url.js";
import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, type VerifyFailure } from "./verifier.js";

const SIGNATURE = "x-hubspot-signature-v3";
const TIMESTAMP = "x-hubspot-request-timestamp";

/** The escapes HubSpot decodes in the URI before signing it (its docs' table), and only those. */
const DECODED: Readonly<Record<string, string>> = {
  "%3A": ":",
  "%2F": "/",
  "%3F": "?",
  "%40": "@",
  "%21": "!",
  "%24": "$",
  "%27": "'",
  "%28": "(",
  "%29": ")",
  "%2A": "*",
  "%2C": ",",
  "%3B": ";",
};

export function hubspotUri(url: string): string {
  return url.replace(/%(3A|2F|3F|40|21|24|27|28|29|2A|2C|3B)/gi, (m) => DECODED[m.toUpperCase()] ?? m);
}

/** HubSpot's timestamp is in milliseconds, unlike every other scheme's. */
function timeFailure(text: string, receivedAt: number, toleranceMs: number): VerifyFailure | undefined {
  if (!/^[0-9]{1,15}$/.test(text)) return "malformed_signature";
  return Math.abs(receivedAt - Number(text)) <= toleranceMs ? undefined : "timestamp_out_of_tolerance";
}

/**
 * HubSpot (v3): `X-HubSpot-Signature-v3: <base64 HMAC-SHA256 of method + URI + raw body + timestamp>`,
 * keyed with the app's client secret, `X-HubSpot-Request-Timestamp` in milliseconds. The URI is
 * the public one HubSpot calls, which a reverse proxy hides from us: hence the `url` option.
 * https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation
 */
export const hubspot = defineVerifier({
  type: "hubspot",
  description:
    "`X-HubSpot-Signature-v3`: base64 HMAC-SHA256 over method + `url` + body + `X-HubSpot-Request-Timestamp` (ms), key = the app's client secret; `tolerance`",
  deliveryId: "",
  timestamped: true,
  properties: { url: publicUrlOption("HubSpot") },
  create: (options, ctx) => {
    const uri = hubspotUri(options.url);
    return {
      verify(req) {
        const header = req.headers[SIGNATURE];
        const ts = req.headers[TIMESTAMP];
        if (!header || !ts) return { ok: false, reason: "missing_signature" };
        const given = decodeDigest(header, "base64", "sha256");
        const time = timeFailure(ts, req.receivedAt, ctx.toleranceMs);
        if (!given || time === "malformed_signature") return { ok: false, reason: "malformed_signature" };
        if (!anyKeyMatches(ctx.keys, given, "sha256", req.method, uri, req.rawBody, ts)) return { ok: false, reason: "signature_mismatch" };
        // After the signature: this reason then only names genuine but old (replayed) requests.
        if (time) return { ok: false, reason: time };
        return accepted(undefined);
      },
      sign(body, now) {
        const ts = String(Math.floor(now));
        const signature = hmac("sha256", firstKey(ctx), "POST", uri, body, ts).toString("base64");
        return { headers: { "X-HubSpot-Request-Timestamp": ts, "X-HubSpot-Signature-v3": signature }, body };
      },
      providerHeaders: () => ({ "Content-Type": "application/json", "User-Agent": "HubSpot Connect 2.0 (http://dev.hubspot.com/)" }),
    };
  },
});
