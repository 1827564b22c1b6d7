import { createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import { shopify } from "../../../src/plugins/verifiers/shopify.js";
import { build, malformed, mismatch, missing, request, rotation, roundTrip, SECRET, tamper } from "./helpers.js";

// A trimmed orders/create payload (https://shopify.dev/docs/api/webhooks?reference=toml#list-of-topics-orders/create).
const body = JSON.stringify({
  id: 820982911946154500,
  email: "jon@example.com",
  created_at: "2021-12-31T19:00:00-05:00",
  total_price: "403.00",
  currency: "USD",
  line_items: [{ id: 866550311766439000, title: "IPod Nano - 8GB", quantity: 1, price: "199.00" }],
});
const EVENT_ID = "98880550-7158-44d4-b7cd-2c97c8a091b5";
const WEBHOOK_ID = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043";

/** Shopify's documented algorithm, computed here independently of our helpers. */
const shopifySignature = (secret: string, payload: string) => createHmac("sha256", secret).update(payload, "utf8").digest("base64");

describe("shopify", () => {
  const verifier = build(shopify);
  const good = shopifySignature(SECRET, body);
  const signed = (headers: Record<string, string>, payload = body) =>
    request({ body: payload, headers: { "X-Shopify-Topic": "orders/create", ...headers } });

  it.each([
    {
      name: "valid",
      req: signed({ "X-Shopify-Hmac-Sha256": good, "X-Shopify-Event-Id": EVENT_ID, "X-Shopify-Webhook-Id": WEBHOOK_ID }),
      want: { ok: true, deliveryId: EVENT_ID },
    },
    {
      name: "webhook id when there is no event id",
      req: signed({ "X-Shopify-Hmac-Sha256": good, "X-Shopify-Webhook-Id": WEBHOOK_ID }),
      want: { ok: true, deliveryId: WEBHOOK_ID },
    },
    { name: "no ids", req: signed({ "X-Shopify-Hmac-Sha256": good }), want: { ok: true } },
    { name: "tampered body", req: signed({ "X-Shopify-Hmac-Sha256": good }, tamper(body)), want: mismatch },
    { name: "wrong key", req: signed({ "X-Shopify-Hmac-Sha256": shopifySignature("shpss_other", body) }), want: mismatch },
    { name: "missing header", req: signed({}), want: missing },
    {
      name: "hex instead of base64",
      req: signed({ "X-Shopify-Hmac-Sha256": createHmac("sha256", SECRET).update(body).digest("hex") }),
      want: malformed,
    },
    { name: "wrong length", req: signed({ "X-Shopify-Hmac-Sha256": Buffer.alloc(20).toString("base64") }), want: malformed },
    { name: "not base64", req: signed({ "X-Shopify-Hmac-Sha256": "not*base64!" }), want: malformed },
    { name: "base64url alphabet", req: signed({ "X-Shopify-Hmac-Sha256": "-_".repeat(22) }), want: malformed },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(shopify, {}, (s) => signed({ "X-Shopify-Hmac-Sha256": shopifySignature(s, body) }))).toEqual([true, true, false]);
  });

  it("signs what it accepts, as Shopify would", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
    expect(verifier.sign(Buffer.from(body), 0).headers["X-Shopify-Hmac-Sha256"]).toBe(good);
  });
});
