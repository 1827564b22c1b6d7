import { Type } from "@sinclair/typebox";
import { SecretField } from "../../config/marks.js";
import { type BodyHmacRule, bodyHmacVerifier } from "./body-hmac.js";
import { defineVerifier, safeEqual } from "./verifier.js";

/** The app secret's HMAC of the body, GitHub style; Meta sends no delivery id. */
const SIGNATURE: BodyHmacRule = {
  headers: ["X-Hub-Signature-256"],
  prefix: "sha256=",
  encoding: "hex",
  deliveryIdOf: () => undefined,
};

/**
 * Meta (Facebook, Instagram, WhatsApp, Messenger): `X-Hub-Signature-256: sha256=<hex
 * HMAC-SHA256 of the raw body>`, keyed with the app secret. A new callback URL is checked with
 * a GET `?hub.mode=subscribe&hub.verify_token=…&hub.challenge=…`: the challenge is echoed as
 * text when the token is the one the user typed into Meta's dashboard.
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#verification-requests
 * https://developers.facebook.com/docs/graph-api/webhooks/getting-started#event-notifications
 */
export const meta = defineVerifier({
  type: "meta",
  description:
    "`X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of body>`, keyed with the app secret (Facebook, Instagram, WhatsApp); answers the GET verification request (`hub.mode=subscribe`) with `hub.challenge` when `hub.verify_token` equals `verify_token`, 403 otherwise",
  deliveryId: "",
  properties: {
    verify_token: Type.Optional(
      SecretField(
        "value",
        Type.String({
          minLength: 1,
          description:
            "the Verify Token typed into Meta's webhook settings: a GET `hub.mode=subscribe` carrying it gets `hub.challenge` back. Without it, such GETs get 403",
        }),
      ),
    ),
  },
  create: (options, ctx) => {
    const token = options.verify_token;
    return {
      ...bodyHmacVerifier(SIGNATURE, ctx),
      answerGet(req) {
        if (req.query["hub.mode"] !== "subscribe") return undefined;
        const given = req.query["hub.verify_token"];
        const challenge = req.query["hub.challenge"];
        if (!given || challenge === undefined || token === undefined) return { kind: "refused", reason: "missing_signature" };
        if (!safeEqual(token, given)) return { kind: "refused", reason: "signature_mismatch" };
        // As text, exactly: Meta compares the response body with the challenge it sent.
        return { kind: "answer", answer: { status: 200, body: challenge } };
      },
    };
  },
});
