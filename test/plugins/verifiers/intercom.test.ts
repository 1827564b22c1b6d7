import { createHmac } from "node:crypto";
import { describe } from "vitest";
import { intercom } from "../../../src/plugins/verifiers/intercom.js";
import { bodyHmacCases } from "./body-hmac-cases.js";

// A trimmed notification (https://developers.intercom.com/docs/references/webhooks/webhook-models).
const body = JSON.stringify({
  type: "notification_event",
  app_id: "a86dr8yl",
  topic: "conversation.user.created",
  id: "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
  created_at: 1392731331,
  data: { item: { type: "conversation", id: "147" } },
});

describe("intercom", () => {
  bodyHmacCases({
    plugin: intercom,
    header: "X-Hub-Signature",
    // Intercom's documented rule: "sha1=" + hex HMAC-SHA1 of the raw body, keyed with the client secret.
    signature: (secret, payload) => `sha1=${createHmac("sha1", secret).update(payload).digest("hex")}`,
    body,
    deliveryId: "notif_ccd8a4d0-f965-11e3-a367-c779cae3e1b3",
    malformedValues: [
      createHmac("sha1", "x").update(body).digest("hex"),
      `sha256=${createHmac("sha256", "x").update(body).digest("hex")}`,
      `sha1=${createHmac("sha256", "x").update(body).digest("hex")}`,
      "sha1=zz",
    ],
  });
});
