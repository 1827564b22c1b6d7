/**
 * What an adnanh/webhook hook answers, as the Switchyard route's `respond`. adnanh/webhook's
 * handler (webhook.go) answers a hook whose rules match with its `response-headers` and either
 * `response-message` at once (the command runs in the background) or, with
 * `include-command-output-in-response`, the command's output once it ends: the success code on
 * exit 0, 500 and a fixed text otherwise (`-on-error`: 500 and the output). Rules that do not
 * match: `trigger-rule-mismatch-http-response-code` (200 when unset) and a fixed text, with no
 * `response-headers`.
 */

export interface HookAnswerOptions {
  "response-message"?: unknown;
  "response-headers"?: unknown;
  "success-http-response-code"?: unknown;
  "trigger-rule-mismatch-http-response-code"?: unknown;
  "include-command-output-in-response"?: unknown;
  "include-command-output-in-response-on-error"?: unknown;
}

export const ANSWER_OPTIONS = [
  "response-message",
  "response-headers",
  "success-http-response-code",
  "trigger-rule-mismatch-http-response-code",
  "include-command-output-in-response",
  "include-command-output-in-response-on-error",
] as const;

/** adnanh/webhook's own texts, answered as they are. */
export const WEBHOOK_TEXTS = {
  mismatch: "Hook rules were not satisfied.",
  commandFailed: "Error occurred while executing the hook's command. Please check your logs for more details.",
} as const;

/** How long a provider waits for a command's output: longer than the exec target's 5m, so the command's own limit decides (then 500). */
export const OUTPUT_WAIT = "6m";

/** A JSONata string literal: the text exactly, whatever quotes or backslashes it holds. */
const literal = (text: string) => JSON.stringify(text);

const TEXT = "text/plain; charset=utf-8";

function statusOf(value: unknown, option: string, problems: string[]): number | undefined {
  if (value === undefined || value === null || value === 0) return undefined;
  const n = typeof value === "string" && /^[0-9]+$/.test(value.trim()) ? Number(value) : value;
  if (typeof n === "number" && Number.isInteger(n) && n >= 100 && n <= 599) return n;
  problems.push(`${option}: ${JSON.stringify(value)} is not an HTTP status; the default is kept`);
  return undefined;
}

function headersOf(value: unknown, problems: string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  if (!Array.isArray(value)) {
    if (value !== undefined && value !== null) problems.push("response-headers: not a list of { name, value }; not converted");
    return headers;
  }
  value.forEach((h, i) => {
    const name = (h as { name?: unknown } | null)?.name;
    const v = (h as { value?: unknown } | null)?.value;
    if (typeof name === "string" && /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) && (typeof v === "string" || typeof v === "number")) {
      headers[name] = String(v);
    } else problems.push(`response-headers[${i}]: not a { name, value } header; left out`);
  });
  return headers;
}

/**
 * The route's answer for a hook: the `respond` block (undefined where Switchyard's own answers
 * are what the hook gives: no answer option set), and what could not be converted exactly.
 * `target`: the name of the hook's exec target.
 */
export function answerOf(hook: HookAnswerOptions, target: string): { respond?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  const success = statusOf(hook["success-http-response-code"], "success-http-response-code", problems);
  const mismatch = statusOf(hook["trigger-rule-mismatch-http-response-code"], "trigger-rule-mismatch-http-response-code", problems);
  const headers = headersOf(hook["response-headers"], problems);
  const message = hook["response-message"];
  const text = typeof message === "string" || typeof message === "number" ? String(message) : "";
  if (message !== undefined && message !== null && typeof message !== "string" && typeof message !== "number")
    problems.push("response-message: not a text; not converted");
  const capture = hook["include-command-output-in-response"] === true;
  const onError = hook["include-command-output-in-response-on-error"] === true;

  const respond: Record<string, unknown> = {};
  if (capture) {
    // The provider waits for the command, as it did: its stdout is the answer.
    respond.target = target;
    respond.timeout = OUTPUT_WAIT;
    respond.content_type = TEXT;
    if (success !== undefined) respond.status = success;
    if (Object.keys(headers).length > 0) respond.headers = headers;
    respond.on_failure = { status: 500, headers: { "Content-Type": TEXT }, body: literal(WEBHOOK_TEXTS.commandFailed) };
    problems.push(
      "include-command-output-in-response: the answer is the command's stdout (webhook also mixed in its stderr), and a failed run is retried in the background after its 500",
    );
    if (onError)
      problems.push(
        "include-command-output-in-response-on-error: a failed command is answered 500 with webhook's fixed text, not with its output",
      );
    if (text !== "") problems.push("response-message: webhook does not send it with include-command-output-in-response either; left out");
  } else {
    if (success !== undefined || text !== "" || Object.keys(headers).length > 0) {
      respond.status = success ?? 200;
      if (Object.keys(headers).length > 0) respond.headers = headers;
      respond.body = literal(text);
    }
  }
  if (mismatch !== undefined) respond.ignored = { status: mismatch, body: literal(WEBHOOK_TEXTS.mismatch) };
  return Object.keys(respond).length > 0 ? { respond, problems } : { problems };
}
