import { describe, expect, it } from "vitest";
import { gitlab } from "../../../src/plugins/verifiers/gitlab.js";
import { build, eventOf, mismatch, missing, request, rotation, roundTrip, SECRET } from "./helpers.js";

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
