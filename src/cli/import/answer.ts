/**
 * What an adnanh/webhook hook answers, as a Switchyard route's `respond` (issue 15). Until
 * `respond` is part of the config these options are reported, each with what it will become;
 * `answerOf` is the one place that changes when it is. The mapping, per issue 15's spec:
 *
 * - `response-message: TEXT` → `respond: { status: 200, body: '"TEXT"' }` (the body is JSONata:
 *   the text as a string literal), its status `success-http-response-code` when set.
 * - `response-headers: [{ name, value }]` → `respond.headers: { name: value }`.
 * - `success-http-response-code: N` → `respond.status: N` (with the message above, or an empty
 *   body: adnanh/webhook answers 200 with `response-message`, empty by default).
 * - `trigger-rule-mismatch-http-response-code: N` → `respond.ignored: { status: N, body:
 *   '"Hook rules were not satisfied."' }`: the answer to an event the route filter refuses.
 * - `include-command-output-in-response: true` → `respond: { target: <the exec target>,
 *   timeout: <as long as the exec target's timeout>, on_failure: { status: 500, body: '"Error
 *   occurred while executing the hook\'s command. Please check your logs for more details."' } }`,
 *   and `content_type: text/plain` on nothing else: the command's stdout is the body, exit 0
 *   answers `success-http-response-code` (default 200).
 * - `include-command-output-in-response-on-error: true` → the same, except that a failed run
 *   answers 500 with the command's output; issue 15's `on_failure` has a fixed body, so this
 *   one stays reported even then.
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

const WILL_BE: Record<(typeof ANSWER_OPTIONS)[number], string> = {
  "response-message": "respond.body",
  "response-headers": "respond.headers",
  "success-http-response-code": "respond.status",
  "trigger-rule-mismatch-http-response-code": "respond.ignored.status",
  "include-command-output-in-response": "respond.target",
  "include-command-output-in-response-on-error": "respond.on_failure",
};

/**
 * The route's answer for a hook: the `respond` block when it can be written, and what could not
 * be converted. Today: no block, and one problem per answer option the hook sets (options left
 * at adnanh/webhook's defaults, `false`, `""` or `[]`, change nothing and are not reported).
 */
export function answerOf(hook: HookAnswerOptions): { respond?: Record<string, unknown>; problems: string[] } {
  const problems: string[] = [];
  for (const option of ANSWER_OPTIONS) {
    const value = hook[option];
    const unset =
      value === undefined ||
      value === null ||
      value === false ||
      value === "" ||
      value === 0 ||
      (Array.isArray(value) && value.length === 0);
    if (!unset) {
      problems.push(
        `${option}: not converted yet (it will be ${WILL_BE[option]}); the route answers Switchyard's 202 {"status":"accepted"} and 200 {"status":"ignored"}`,
      );
    }
  }
  return { problems };
}
