import { Type } from "@sinclair/typebox";
import { accepted, anyKeyEquals, defineVerifier, firstKey, isRecord, parseJson } from "./verifier.js";

const DEFAULT_FIELD = "sharedSecret";

/**
 * A secret carried in a top-level field of the JSON body, Cisco Meraki style: nothing is signed,
 * so the body must be parsed to verify it, and the field is scrubbed before the event is stored.
 * https://developer.cisco.com/meraki/webhooks/introduction/#shared-secret
 */
export const sharedSecret = defineVerifier({
  type: "shared-secret",
  description:
    "a top-level JSON body field equals the secret (Cisco Meraki); the field is removed before the event is stored or forwarded, so the stored body bytes are the body re-written as compact JSON without it. Nothing signs the body: anyone who knows the secret can send anything",
  deliveryId: "body `alertId`",
  properties: {
    field: Type.Optional(
      Type.String({ minLength: 1, default: DEFAULT_FIELD, description: "the top-level body field that holds the secret" }),
    ),
  },
  create: (options, ctx) => {
    const field = options.field ?? DEFAULT_FIELD;
    return {
      verify(req) {
        const body = parseJson(req.rawBody);
        if (!body.ok) return { ok: false, reason: "body_not_json" };
        const value = isRecord(body.value) ? body.value : {};
        const given = value[field];
        if (typeof given !== "string" || given === "") return { ok: false, reason: "missing_signature" };
        if (!anyKeyEquals(ctx.keys, given)) return { ok: false, reason: "signature_mismatch" };
        // Meraki's alertId names one alert; its retries repeat it.
        return accepted(value.alertId);
      },
      sign(raw) {
        const body = parseJson(raw);
        if (!body.ok || !isRecord(body.value))
          throw new Error(`shared-secret: the body must be a JSON object to carry the "${field}" field`);
        return {
          headers: { "Content-Type": "application/json" },
          body: Buffer.from(JSON.stringify({ ...body.value, [field]: firstKey(ctx).toString("utf8") })),
        };
      },
      scrub(request) {
        if (!isRecord(request.body) || !(field in request.body)) return;
        delete request.body[field];
        // The one scheme whose credential is inside the body: the stored bytes are the body
        // without it, as compact JSON, so neither a raw forward nor a raw export carries the secret.
        request.rawBody = Buffer.from(JSON.stringify(request.body), "utf8");
      },
    };
  },
});
