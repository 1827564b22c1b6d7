import { createHmac } from "node:crypto";
import { describe } from "vitest";
import { vercel } from "../../../src/plugins/verifiers/vercel.js";
import { bodyHmacCases } from "./body-hmac-cases.js";

// A trimmed deployment.succeeded event (https://vercel.com/docs/webhooks/webhooks-api).
const body = JSON.stringify({
  id: "uE5fCePnOaXGRIEbo9PTqT2B",
  type: "deployment.succeeded",
  createdAt: 1724151000000,
  payload: { deployment: { id: "dpl_2euZBFqxYdDMDG1jTrHFnNZ2eUVa", url: "app-abc.vercel.app" } },
});

describe("vercel", () => {
  bodyHmacCases({
    plugin: vercel,
    header: "x-vercel-signature",
    // Vercel's documented rule: hex HMAC-SHA1 of the raw body, no prefix.
    signature: (secret, payload) => createHmac("sha1", secret).update(payload).digest("hex"),
    body,
    deliveryId: "uE5fCePnOaXGRIEbo9PTqT2B",
    malformedValues: [
      `sha1=${createHmac("sha1", "x").update(body).digest("hex")}`,
      createHmac("sha256", "x").update(body).digest("hex"),
      createHmac("sha1", "x").update(body).digest("base64"),
    ],
  });
});
