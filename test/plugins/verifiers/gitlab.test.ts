import { createHmac } from "node:crypto";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { gitlab } from "../../../src/plugins/verifiers/gitlab.js";
import {
  build,
  eventOf,
  malformed,
  mismatch,
  missing,
  NOW,
  NOW_S,
  outOfTolerance,
  request,
  rotation,
  roundTrip,
  SECRET,
  tamper,
} from "./helpers.js";

// A trimmed GitLab push event (https://docs.gitlab.com/user/project/integrations/webhook_events/#push-events).
const body = JSON.stringify({
  object_kind: "push",
  event_name: "push",
  before: "95790bf891e76fee5e1747ab589903a6a1f80f22",
  after: "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
  ref: "refs/heads/master",
  user_username: "jsmith",
  project: { id: 15, name: "Diaspora", path_with_namespace: "mike/diaspora" },
  total_commits_count: 4,
});
const UUID = "6f6e8d1d-3a51-4d36-9f0b-3f3f1b0e6c38";

describe("gitlab", () => {
  const verifier = build(gitlab);

  it.each([
    {
      name: "valid",
      req: request({ body, headers: { "X-Gitlab-Token": SECRET, "X-Gitlab-Event-UUID": UUID } }),
      want: { ok: true, deliveryId: UUID },
    },
    { name: "no event uuid", req: request({ body, headers: { "X-Gitlab-Token": SECRET } }), want: { ok: true } },
    { name: "wrong token", req: request({ body, headers: { "X-Gitlab-Token": "guess" } }), want: mismatch },
    { name: "token prefix only", req: request({ body, headers: { "X-Gitlab-Token": SECRET.slice(0, -1) } }), want: mismatch },
    { name: "token with extra text", req: request({ body, headers: { "X-Gitlab-Token": `${SECRET} ` } }), want: mismatch },
    { name: "missing header", req: request({ body, headers: { "X-Gitlab-Event-UUID": UUID } }), want: missing },
    { name: "empty header", req: request({ body, headers: { "X-Gitlab-Token": "" } }), want: missing },
  ])("$name", ({ req, want }) => {
    expect(verifier.verify(req)).toEqual(want);
  });

  it("accepts old and new secret while rotating, not a third", async () => {
    expect(await rotation(gitlab, {}, (s) => request({ body, headers: { "X-Gitlab-Token": s } }))).toEqual([true, true, false]);
  });

  it("signs what it accepts", () => {
    expect(roundTrip(verifier, body)).toEqual({ ok: true });
  });

  it("scrubs the token, which is the credential itself", () => {
    const req = request({ body, headers: { "X-Gitlab-Token": SECRET, "X-Gitlab-Event": "Push Hook" } });
    const event = eventOf(req, JSON.parse(body));
    verifier.scrub?.(event);
    expect(event.headers).toEqual({ "x-gitlab-event": "Push Hook" });
  });
});

describe("gitlab with a signing token (Standard Webhooks)", () => {
  // GitLab signs `{webhook-id}.{webhook-timestamp}.{body}` like the Standard Webhooks reference library.
  const TOKEN = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
  const ID = "b5fd3c4e-3a68-4e2b-94d2-2b4f8e3d7c11";
  const payload = JSON.stringify({
    object_kind: "push",
    ref: "refs/heads/main",
    project: { id: 15, path_with_namespace: "group/project" },
  });
  const signed = (secret = TOKEN, at = NOW, body = payload) => ({
    "webhook-id": ID,
    "webhook-timestamp": String(Math.floor(at / 1000)),
    "webhook-signature": new StandardWebhook(secret).sign(ID, new Date(at), body),
    "X-Gitlab-Event": "Push Hook",
  });
  const verifier = build(gitlab, { secret: TOKEN });

  it("accepts GitLab's signature, with the hook's id for dedupe", () => {
    expect(verifier.verify(request({ body: payload, headers: signed() }))).toEqual({ ok: true, deliveryId: ID });
  });
  it("prefers X-Gitlab-Event-UUID as the dedupe id when GitLab sends it", () => {
    const headers = { ...signed(), "X-Gitlab-Event-UUID": "13792a34-cac6-4fda-95a8-c58e00a3954e" };
    expect(verifier.verify(request({ body: payload, headers }))).toEqual({ ok: true, deliveryId: "13792a34-cac6-4fda-95a8-c58e00a3954e" });
  });
  it("refuses a changed body, a wrong key, a stale timestamp and a malformed signature", () => {
    expect(verifier.verify(request({ body: tamper(payload), headers: signed() }))).toEqual(mismatch);
    expect(verifier.verify(request({ body: payload, headers: signed("whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw==") }))).toEqual(mismatch);
    expect(verifier.verify(request({ body: payload, headers: signed(TOKEN, NOW - 600_000) }))).toEqual(outOfTolerance);
    expect(verifier.verify(request({ body: payload, headers: { ...signed(), "webhook-signature": "v1,!!" } }))).toEqual(malformed);
    expect(verifier.verify(request({ body: payload, headers: { ...signed(), "webhook-id": undefined } }))).toEqual(missing);
  });
  it("judges a signed request by its signature alone: a right token beside a wrong signature is refused", () => {
    const headers = { ...signed("whsec_dGhpcmQgc2VjcmV0IGZvciB0ZXN0cw=="), "X-Gitlab-Token": TOKEN };
    expect(verifier.verify(request({ body: payload, headers }))).toEqual(mismatch);
  });
  it("takes a signing token without whsec_ as its own bytes", () => {
    const plain = "a-plain-signing-token";
    const ts = String(NOW_S);
    const signature = `v1,${createHmac("sha256", plain).update(`${ID}.${ts}.${payload}`).digest("base64")}`;
    const headers = { "webhook-id": ID, "webhook-timestamp": ts, "webhook-signature": signature };
    expect(build(gitlab, { secret: plain }).verify(request({ body: payload, headers }))).toEqual({ ok: true, deliveryId: ID });
  });
});
