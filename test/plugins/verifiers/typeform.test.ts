import { createHmac } from "node:crypto";
import { describe } from "vitest";
import { typeform } from "../../../src/plugins/verifiers/typeform.js";
import { bodyHmacCases } from "./body-hmac-cases.js";

// A trimmed form_response (https://www.typeform.com/developers/webhooks/example-payload/).
const body = JSON.stringify({
  event_id: "LtWXD3crgy",
  event_type: "form_response",
  form_response: { form_id: "lT4Z3j", token: "a3a12ec67a1365927098a606107fac15", submitted_at: "2018-01-18T18:17:02Z" },
});

describe("typeform", () => {
  bodyHmacCases({
    plugin: typeform,
    header: "Typeform-Signature",
    // Typeform's documented rule: "sha256=" + base64 of the HMAC-SHA256 of the raw body.
    signature: (secret, payload) => `sha256=${createHmac("sha256", secret).update(payload).digest("base64")}`,
    body,
    deliveryId: "LtWXD3crgy",
    malformedValues: [
      createHmac("sha256", "x").update(body).digest("base64"),
      `sha256=${createHmac("sha256", "x").update(body).digest("hex")}`,
      "sha256=not*base64",
      `sha1=${createHmac("sha1", "x").update(body).digest("base64")}`,
    ],
  });
});
