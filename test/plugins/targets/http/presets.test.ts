import { describe, expect, it } from "vitest";
import { alertBody, alertEvent } from "../../../../src/alerts/alert.js";
import { http } from "../../../../src/plugins/targets/http/http.js";
import type { OptionProblems } from "../../../../src/plugins/targets/target.js";
import { makeContext, makeEvent } from "../context.js";

/**
 * Each preset against the request its service documents (the links are in presets.ts). What is
 * checked is what the service reads: the URL and method, the Content-Type, the JSON fields.
 */

const NOW = Date.parse("2026-12-01T10:00:00.000Z");
const dead = alertBody(
  { kind: "delivery.dead", route: "github", target: "deploy", eventId: "evt_42", attempts: 8, error: "HTTP 503: <b>down</b> & out" },
  1,
  NOW,
  NOW,
  "https://sy.example.net/",
);
const event = alertEvent("alerts", dead, NOW);

async function render(url: string, preset: unknown, extra: Record<string, unknown> = {}) {
  const { ctx } = makeContext("/tmp", 1000);
  const target = http.create({ name: "phone", type: "http", url, preset, ...extra } as never, ctx);
  const req = (await target.render({ event })) as { method: string; url: string; headers: Record<string, string>; body: string };
  return { ...req, json: JSON.parse(req.body) as Record<string, unknown> };
}

function problemsOf(url: string, preset: unknown, extra: Record<string, unknown> = {}): string[] {
  const { ctx } = makeContext("/tmp", 1000);
  try {
    http.create({ name: "phone", type: "http", url, preset, ...extra } as never, ctx);
    return [];
  } catch (err) {
    return (err as OptionProblems).problems.map((p) => `${p.field}: ${p.message}`);
  }
}

describe("http presets", () => {
  it("the alert names what happened, with a link to the event in the console", () => {
    expect(dead.title).toBe("Delivery to github/deploy failed for good");
    expect(dead.message).toContain("evt_42");
    expect(dead.message).toContain("after 8 attempts");
    expect(dead.url).toBe("https://sy.example.net/#/events/evt_42");
    expect(dead.grouped).toBe(1);
  });

  it("ntfy: JSON to the server's root with topic, title, message, priority, tags and click", async () => {
    const r = await render("https://ntfy.example.net/sub/my-topic", "ntfy");
    expect(r.method).toBe("POST");
    expect(r.url).toBe("https://ntfy.example.net/sub/");
    expect(r.headers["Content-Type"]).toBe("application/json");
    expect(r.json).toEqual({
      topic: "my-topic",
      title: dead.title,
      message: dead.message,
      priority: 4,
      tags: ["rotating_light"],
      click: dead.url,
    });
  });

  it("ntfy: keeps the URL's query, where ntfy takes an access token (?auth=)", async () => {
    const r = await render("https://ntfy.example.net/my-topic?auth=QmFzaWMgZGVtbw", "ntfy");
    expect(r.url).toBe("https://ntfy.example.net/?auth=QmFzaWMgZGVtbw");
    expect(r.json).toMatchObject({ topic: "my-topic" });
  });

  it("gotify: POST /message with title, message, priority and the click URL in extras", async () => {
    const r = await render("https://gotify.example.net/message?token=AbC", "gotify");
    expect(r.method).toBe("POST");
    expect(r.url).toBe("https://gotify.example.net/message?token=AbC");
    expect(r.json).toEqual({
      title: dead.title,
      message: dead.message,
      priority: 8,
      extras: { "client::notification": { click: { url: dead.url } } },
    });
  });

  it("slack: text in mrkdwn, with &, < and > escaped", async () => {
    const r = await render("https://hooks.slack.com/services/T0/B0/x", "slack");
    const text = r.json.text as string;
    expect(Object.keys(r.json)).toEqual(["text"]);
    expect(text.startsWith(`*${dead.title}*\n`)).toBe(true);
    expect(text).toContain("&lt;b&gt;down&lt;/b&gt; &amp; out");
    expect(text).toContain(`<${dead.url}|Open in the console>`);
  });

  it("discord: one embed with title, description and url, and no mentions", async () => {
    const r = await render("https://discord.com/api/webhooks/1/abc", "discord");
    expect(r.json.allowed_mentions).toEqual({ parse: [] });
    expect(r.json.embeds).toEqual([{ title: dead.title, description: dead.message, color: 0xd83c3e, url: dead.url }]);
  });

  it("teams: a message with one Adaptive Card attachment", async () => {
    const r = await render("https://example.webhook.office.com/webhookb2/x", "teams");
    expect(r.json.type).toBe("message");
    const [attachment] = r.json.attachments as Record<string, unknown>[];
    expect(attachment?.contentType).toBe("application/vnd.microsoft.card.adaptive");
    const card = attachment?.content as Record<string, unknown>;
    expect(card.type).toBe("AdaptiveCard");
    expect(card.body).toEqual([
      { type: "TextBlock", text: dead.title, weight: "Bolder", size: "Medium", wrap: true },
      { type: "TextBlock", text: dead.message, wrap: true },
    ]);
    expect(card.actions).toEqual([{ type: "Action.OpenUrl", title: "Open in the console", url: dead.url }]);
  });

  it("telegram: sendMessage with chat_id and plain text", async () => {
    const r = await render("https://api.telegram.org/bot123:ABC/sendMessage", { type: "telegram", chat_id: "-100200" });
    expect(r.url).toBe("https://api.telegram.org/bot123:ABC/sendMessage");
    expect(r.json).toEqual({
      chat_id: "-100200",
      text: `${dead.title}\n\n${dead.message}\n${dead.url}`,
      link_preview_options: { is_disabled: true },
    });
    expect(problemsOf("https://api.telegram.org/bot1/sendMessage", "telegram")).toEqual([
      "preset: the telegram preset needs chat_id: write preset: { type: telegram, chat_id: … }",
    ]);
  });

  it("pushover: messages.json with token, user, title, message, priority and url", async () => {
    const r = await render("https://api.pushover.net/1/messages.json", { type: "pushover", token: "app-token", user: "user-key" });
    expect(r.json).toEqual({
      token: "app-token",
      user: "user-key",
      title: dead.title,
      message: dead.message,
      priority: 1,
      url: dead.url,
      url_title: "Open in the console",
    });
    expect(problemsOf("https://api.pushover.net/1/messages.json", { type: "pushover", token: "t" })).toEqual([
      "preset: the pushover preset needs user: write preset: { type: pushover, token: …, user: … }",
    ]);
  });

  it("matrix: PUT of an m.text message with the event id as transaction id", async () => {
    const base = "https://matrix.example.net/_matrix/client/v3/rooms/!room:example.net/send/m.room.message";
    const r = await render(base, "matrix", { headers: { Authorization: "Bearer syt_x" } });
    expect(r.method).toBe("PUT");
    expect(r.url).toBe(`${base}/${event.id}`);
    expect(r.headers.Authorization).toBe("Bearer syt_x");
    expect(r.json).toEqual({ msgtype: "m.text", body: `${dead.title}\n${dead.message}\n${dead.url}` });
    expect(problemsOf("https://matrix.example.net/_matrix/client/v3/rooms/!r:x", "matrix")[0]).toMatch(/^url: for the matrix preset/);
  });

  it("json: the alert's fields with title, message and severity", async () => {
    const r = await render("https://hooks.example.net/in", "json");
    expect(r.json).toMatchObject({
      kind: "delivery.dead",
      route: "github",
      target: "deploy",
      eventId: "evt_42",
      attempts: 8,
      grouped: 1,
      title: dead.title,
      message: dead.message,
      severity: "error",
      url: dead.url,
    });
  });

  it("formats a webhook event too, and a transform's title and message win", async () => {
    const { ctx } = makeContext("/tmp", 1000);
    const target = http.create({ name: "phone", type: "http", url: "https://ntfy.example.net/t", preset: "ntfy" } as never, ctx);
    const webhook = makeEvent({ action: "opened" });
    const plain = (await target.render({ event: webhook })) as { body: string };
    expect(JSON.parse(plain.body)).toMatchObject({ topic: "t", title: "Switchyard: github", message: '{"action":"opened"}', priority: 3 });
    const shaped = (await target.render({ event: webhook, transformed: { value: { title: "PR opened", message: "#7" } } })) as {
      body: string;
    };
    expect(JSON.parse(shaped.body)).toMatchObject({ title: "PR opened", message: "#7" });
  });

  it("refuses a preset with forward: raw or a method of its own", () => {
    expect(problemsOf("https://ntfy.example.net/t", "ntfy", { forward: "raw" })).toEqual([
      "preset: formats the request itself: it cannot be used with forward: raw",
    ]);
    expect(problemsOf("https://ntfy.example.net/t", "ntfy", { method: "PUT" })).toEqual(["method: is set by the ntfy preset: remove it"]);
  });
});
