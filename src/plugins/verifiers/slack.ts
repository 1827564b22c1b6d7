import { checkV0, signV0 } from "./v0-signature.js";
import { accepted, defineVerifier, firstKey, isRecord, parseJson } from "./verifier.js";

const HEADERS = { signature: "x-slack-signature", timestamp: "x-slack-request-timestamp" };

/**
 * Slack: `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:{X-Slack-Request-Timestamp}:{raw body}">`.
 * https://docs.slack.dev/authentication/verifying-requests-from-slack
 * Bodies are JSON (Events API) or form-encoded (slash commands, interactivity), so JSON is
 * optional here: it is only read for the dedupe id and the url_verification handshake.
 */
export const slack = defineVerifier({
  type: "slack",
  description:
    "`X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`; `tolerance`; answers `url_verification` with its challenge",
  deliveryId: "body `event_id`",
  timestamped: true,
  create: (_options, ctx) => ({
    verify(req) {
      const failure = checkV0(req, ctx.keys, ctx.toleranceMs, HEADERS);
      if (failure) return { ok: false, reason: failure };
      // Slack retries an event up to three times with the same event_id (and X-Slack-Retry-Num).
      const body = parseJson(req.rawBody);
      return accepted(body.ok && isRecord(body.value) ? body.value.event_id : undefined);
    },
    sign(body, now) {
      const { timestamp, signature } = signV0(firstKey(ctx), body, now);
      return { headers: { "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature }, body };
    },
    // Slack checks a new Events API URL by sending a challenge it wants echoed back.
    // https://docs.slack.dev/reference/events/url_verification
    handshake(_headers, body) {
      if (!isRecord(body) || body.type !== "url_verification" || typeof body.challenge !== "string") return undefined;
      return { status: 200, body: { challenge: body.challenge } };
    },
  }),
});
