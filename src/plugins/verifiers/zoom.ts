import { checkV0, signV0 } from "./v0-signature.js";
import { accepted, defineVerifier, firstKey, hmac, isRecord } from "./verifier.js";

const HEADERS = { signature: "x-zm-signature", timestamp: "x-zm-request-timestamp" };

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
      const failure = checkV0(req, ctx.keys, ctx.toleranceMs, HEADERS);
      if (failure) return { ok: false, reason: failure };
      return accepted(undefined);
    },
    sign(body, now) {
      const { timestamp, signature } = signV0(firstKey(ctx), body, now);
      return { headers: { "x-zm-request-timestamp": timestamp, "x-zm-signature": signature }, body };
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
