import { accepted, anyKeyMatches, decodeDigest, defineVerifier, firstKey, hmac, isRecord, timestampFailure } from "./verifier.js";

const PREFIX = "v0=";

/**
 * Zoom: `x-zm-signature: v0=<hex HMAC-SHA256 of "v0:{x-zm-request-timestamp}:{raw body}">`, keyed
 * with the app's secret token. When the endpoint is added, Zoom sends `endpoint.url_validation`
 * with a `plainToken` and expects it back with `encryptedToken`, its hex HMAC under the same key.
 * https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events
 */
export const zoom = defineVerifier({
  type: "zoom",
  description:
    "`x-zm-signature: v0=<hex>` over `v0:{x-zm-request-timestamp}:{body}`, key = the app's secret token; `tolerance`; answers `endpoint.url_validation`",
  deliveryId: "",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const header = req.headers["x-zm-signature"];
      const ts = req.headers["x-zm-request-timestamp"];
      if (!header || !ts) return { ok: false, reason: "missing_signature" };
      const given = header.startsWith(PREFIX) ? decodeDigest(header.slice(PREFIX.length), "hex", "sha256") : undefined;
      const time = timestampFailure(ts, req.receivedAt, ctx.toleranceMs);
      if (!given || (time !== undefined && time !== "timestamp_out_of_tolerance")) return { ok: false, reason: "malformed_signature" };
      if (!anyKeyMatches(ctx.keys, given, "sha256", "v0:", ts, ":", req.rawBody)) return { ok: false, reason: "signature_mismatch" };
      // After the signature: this reason then only names genuine but old (replayed) requests.
      if (time) return { ok: false, reason: time };
      return accepted(undefined);
    },
    sign(body, now) {
      const ts = String(Math.floor(now / 1000));
      const signature = PREFIX + hmac("sha256", firstKey(ctx), "v0:", ts, ":", body).toString("hex");
      return { headers: { "x-zm-request-timestamp": ts, "x-zm-signature": signature }, body };
    },
    providerHeaders: () => ({ "Content-Type": "application/json; charset=utf-8", "User-Agent": "Zoom Marketplace/1.0a" }),
    // Zoom revalidates the URL every 72 hours too; the token is hashed with the first key, the
    // one Zoom has now (during a rotation the old one no longer signs).
    // https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint
    handshake(_headers, body) {
      if (!isRecord(body) || body.event !== "endpoint.url_validation" || !isRecord(body.payload)) return undefined;
      const plainToken = body.payload.plainToken;
      if (typeof plainToken !== "string") return undefined;
      return { status: 200, body: { plainToken, encryptedToken: hmac("sha256", firstKey(ctx), plainToken).toString("hex") } };
    },
  }),
});
