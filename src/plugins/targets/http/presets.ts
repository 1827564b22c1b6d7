import { Type } from "@sinclair/typebox";
import { alertBodyOf } from "../../../alerts/alert.js";
import { SecretField } from "../../../config/marks.js";
import type { DeliveryInput, OptionProblem } from "../target.js";

/**
 * `preset:` on an http target: the request shape a notification service documents, filled in
 * from the event. An alert event (a route with `on:`) gives its title and message; any other
 * event its route and body. A target's `transform` still applies: its result, when it is an
 * object, overrides `title`, `message` and `url`; when it is a string, it is the message.
 */

export const PRESET_NAMES = ["ntfy", "gotify", "slack", "discord", "teams", "telegram", "pushover", "matrix", "json"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

export const PresetSchema = Type.Union(
  [
    Type.Union(PRESET_NAMES.map((p) => Type.Literal(p))),
    Type.Object(
      {
        type: Type.Union(PRESET_NAMES.map((p) => Type.Literal(p))),
        chat_id: Type.Optional(Type.String({ minLength: 1, description: "`telegram`: the chat to send to" })),
        token: Type.Optional(SecretField("value", Type.String({ minLength: 1, description: "`pushover`: the application's API token" }))),
        user: Type.Optional(SecretField("value", Type.String({ minLength: 1, description: "`pushover`: the user or group key" }))),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description:
      "fills in the request a notification service expects from the event: `ntfy`, `gotify`, `slack`, `discord`, `teams`, `telegram` (`{ type: telegram, chat_id: … }`), `pushover` (`{ type: pushover, token: …, user: … }`), `matrix` or `json`. See [Alert presets](#alert-presets)",
  },
);

export type PresetOption = PresetName | { type: PresetName; chat_id?: string; token?: string; user?: string };

/** What a preset formats: the alert's, or the webhook's, title and message. */
export interface Notice {
  title: string;
  message: string;
  severity: "error" | "info";
  /** The event in the console (alerts, with `server.public_url`). */
  url?: string;
  /** The whole alert body, or for a webhook its route and body: what `json` sends. */
  details: Record<string, unknown>;
}

export interface PresetRequest {
  method: string;
  url: string;
  contentType: string;
  body: string;
}

/** A notification is read on a phone: a webhook body shown as text is cut here. */
const MESSAGE_CHARS = 1000;

function text(value: unknown): string {
  const s = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return s.length > MESSAGE_CHARS ? `${s.slice(0, MESSAGE_CHARS)}…` : s;
}

function cut(s: string, max: number): string {
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

/** The notice for an event: the alert it carries, or its route and body; then the transform's overrides. */
export function noticeOf(input: DeliveryInput): Notice {
  const alert = alertBodyOf(input.event);
  const notice: Notice = alert
    ? {
        title: alert.title,
        message: alert.message,
        severity: alert.severity,
        ...(alert.url !== undefined ? { url: alert.url } : {}),
        details: { ...alert },
      }
    : {
        title: `Switchyard: ${input.event.route}`,
        message: text(input.event.body),
        severity: "info",
        details: { route: input.event.route, eventId: input.event.id, body: input.event.body },
      };
  if (!input.transformed) return notice;
  const v = input.transformed.value;
  if (typeof v === "string") return { ...notice, message: v };
  if (typeof v !== "object" || v === null || Array.isArray(v)) return notice;
  const o = v as Record<string, unknown>;
  return {
    ...notice,
    ...(typeof o.title === "string" ? { title: o.title } : {}),
    ...(typeof o.message === "string" ? { message: o.message } : {}),
    ...(typeof o.url === "string" ? { url: o.url } : {}),
    details: { ...notice.details, ...o },
  };
}

const JSON_TYPE = "application/json";

function json(url: string, body: unknown, method = "POST"): PresetRequest {
  return { method, url, contentType: JSON_TYPE, body: JSON.stringify(body) };
}

/** Slack's mrkdwn treats these three as control characters. https://api.slack.com/reference/surfaces/formatting#escaping */
function slackEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export interface Preset {
  name: PresetName;
  /** The request for one event; `url` is the target's, `eventId` makes retries idempotent where the service allows. */
  render(notice: Notice, url: URL, eventId: string): PresetRequest;
}

/** Builds the preset from its option; problems name the field. */
export function createPreset(option: PresetOption, problems: OptionProblem[]): Preset | undefined {
  const o = typeof option === "string" ? { type: option } : option;
  const extra = (key: "chat_id" | "token" | "user") => (typeof option === "string" ? undefined : option[key]);
  const allowed: Record<PresetName, readonly string[]> = {
    ntfy: [],
    gotify: [],
    slack: [],
    discord: [],
    teams: [],
    telegram: ["chat_id"],
    pushover: ["token", "user"],
    matrix: [],
    json: [],
  };
  for (const key of ["chat_id", "token", "user"] as const) {
    const given = extra(key) !== undefined;
    const wanted = allowed[o.type].includes(key);
    if (given && !wanted) problems.push({ field: `preset.${key}`, message: `is not an option of the ${o.type} preset` });
    if (!given && wanted)
      problems.push({
        field: "preset",
        message: `the ${o.type} preset needs ${key}: write preset: { type: ${o.type}, ${allowed[o.type].map((k) => `${k}: …`).join(", ")} }`,
      });
  }
  switch (o.type) {
    // https://docs.ntfy.sh/publish/#publish-as-json: POST to the server's root with the topic in
    // the body; priority 1–5 (4 = high), tags become emojis, `click` opens a URL.
    case "ntfy":
      return {
        name: "ntfy",
        render(n, url) {
          const segments = url.pathname.split("/");
          const topic = segments.filter(Boolean).at(-1) ?? "";
          const root = new URL(url.href);
          // The query stays: it is where ntfy takes an access token (`?auth=`, docs.ntfy.sh/publish/#query-param).
          root.pathname = url.pathname.slice(0, url.pathname.lastIndexOf(topic));
          return json(root.href, {
            topic,
            title: n.title,
            message: n.message,
            priority: n.severity === "error" ? 4 : 3,
            tags: [n.severity === "error" ? "rotating_light" : "white_check_mark"],
            ...(n.url !== undefined ? { click: n.url } : {}),
          });
        },
      };
    // https://gotify.net/api-docs (POST /message, token as ?token= or X-Gotify-Key) and
    // https://gotify.net/docs/msgextras (client::notification click URL); priority 0–10.
    case "gotify":
      return {
        name: "gotify",
        render: (n, url) =>
          json(url.href, {
            title: n.title,
            message: n.message,
            priority: n.severity === "error" ? 8 : 4,
            ...(n.url !== undefined ? { extras: { "client::notification": { click: { url: n.url } } } } : {}),
          }),
      };
    // https://api.slack.com/messaging/webhooks: an incoming webhook takes `text` (mrkdwn).
    case "slack":
      return {
        name: "slack",
        render: (n, url) =>
          json(url.href, {
            text: `*${slackEscape(n.title)}*\n${slackEscape(n.message)}${n.url !== undefined ? `\n<${n.url}|Open in the console>` : ""}`,
          }),
      };
    // https://discord.com/developers/docs/resources/webhook#execute-webhook: an embed's title is
    // at most 256 characters, its description 4096; no mentions, so an error text cannot ping @everyone.
    case "discord":
      return {
        name: "discord",
        render: (n, url) =>
          json(url.href, {
            embeds: [
              {
                title: cut(n.title, 256),
                description: cut(n.message, 4096),
                color: n.severity === "error" ? 0xd83c3e : 0x2e9e5b,
                ...(n.url !== undefined ? { url: n.url } : {}),
              },
            ],
            allowed_mentions: { parse: [] },
          }),
      };
    // https://learn.microsoft.com/en-us/microsoftteams/platform/webhooks-and-connectors/how-to/connectors-using#send-adaptive-cards-using-an-incoming-webhook:
    // a message with one Adaptive Card attachment (Workflows webhooks take the same shape).
    case "teams":
      return {
        name: "teams",
        render: (n, url) =>
          json(url.href, {
            type: "message",
            attachments: [
              {
                contentType: "application/vnd.microsoft.card.adaptive",
                contentUrl: null,
                content: {
                  $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
                  type: "AdaptiveCard",
                  version: "1.2",
                  body: [
                    { type: "TextBlock", text: n.title, weight: "Bolder", size: "Medium", wrap: true },
                    { type: "TextBlock", text: n.message, wrap: true },
                  ],
                  ...(n.url !== undefined ? { actions: [{ type: "Action.OpenUrl", title: "Open in the console", url: n.url }] } : {}),
                },
              },
            ],
          }),
      };
    // https://core.telegram.org/bots/api#sendmessage: POST …/bot<token>/sendMessage with chat_id
    // and text (1–4096 characters); plain text, so nothing in an error needs escaping.
    case "telegram": {
      const chatId = extra("chat_id") ?? "";
      return {
        name: "telegram",
        render: (n, url) =>
          json(url.href, {
            chat_id: chatId,
            text: cut(`${n.title}\n\n${n.message}${n.url !== undefined ? `\n${n.url}` : ""}`, 4096),
            link_preview_options: { is_disabled: true },
          }),
      };
    }
    // https://pushover.net/api: POST https://api.pushover.net/1/messages.json with token, user,
    // message (≤ 1024 characters), title (≤ 250), priority (1 = high), url and url_title.
    case "pushover": {
      const token = extra("token") ?? "";
      const user = extra("user") ?? "";
      return {
        name: "pushover",
        render: (n, url) =>
          json(url.href, {
            token,
            user,
            title: cut(n.title, 250),
            message: cut(n.message, 1024),
            priority: n.severity === "error" ? 1 : 0,
            ...(n.url !== undefined ? { url: n.url, url_title: "Open in the console" } : {}),
          }),
      };
    }
    // https://spec.matrix.org/latest/client-server-api/#put_matrixclientv3roomsroomidsendeventtypetxnid:
    // PUT …/rooms/{roomId}/send/m.room.message/{txnId}; the event id as txnId makes a retry idempotent.
    case "matrix":
      return {
        name: "matrix",
        render(n, url, eventId) {
          const target = new URL(url.href);
          target.pathname = `${url.pathname.replace(/\/+$/, "")}/${encodeURIComponent(eventId)}`;
          return json(
            target.href,
            { msgtype: "m.text", body: `${n.title}\n${n.message}${n.url !== undefined ? `\n${n.url}` : ""}` },
            "PUT",
          );
        },
      };
    // A plain JSON webhook: the title, message and severity, with the alert's fields (or the event's).
    case "json":
      return {
        name: "json",
        render: (n, url) =>
          json(url.href, {
            ...n.details,
            title: n.title,
            message: n.message,
            severity: n.severity,
            ...(n.url !== undefined ? { url: n.url } : {}),
          }),
      };
  }
}
