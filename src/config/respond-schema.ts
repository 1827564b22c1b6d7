import { Type } from "@sinclair/typebox";
import { HEADER_NAME_PATTERN } from "./header-name.js";
import { ExpressionField } from "./marks.js";
import { DURATION_PATTERN } from "./units.js";

/**
 * A route's `respond`: what the provider hears. Either a fixed answer (`status`, `headers`,
 * `body`), or the answer of one of the route's targets (`target`, with `timeout`, `fallback`
 * and `on_failure`). One object rather than a union, so a misplaced key gets one clear error
 * from compile (see compile-respond.ts) instead of every branch's.
 */

export const RESPOND_DEFAULTS = { status: 200, timeout: "2500ms", content_type: "text/plain" } as const;

const Status = (description: string, defaultValue?: number) =>
  Type.Integer({ minimum: 200, maximum: 599, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });

const Headers = () =>
  Type.Record(Type.String({ pattern: HEADER_NAME_PATTERN }), Type.String({ pattern: "^[^\\r\\n\\0]*$" }), {
    additionalProperties: false,
    description: "headers of the answer (`${VAR}` allowed); `Content-Type` overrides the one the body implies",
  });

const Body = () =>
  ExpressionField({
    description:
      "JSONata over the event; a string result is sent as text (`text/plain`), anything else as JSON. Without it, the answer's body is the usual one for the case (`accepted` with the id, or `ignored`)",
  });

/** A fixed answer: `fallback`, `on_failure`, `ignored`. */
export const AnswerSchema = (description: string) =>
  Type.Object(
    {
      status: Type.Optional(Status("HTTP status of the answer")),
      headers: Type.Optional(Headers()),
      body: Type.Optional(Body()),
    },
    { additionalProperties: false, description },
  );

export const RespondSchema = Type.Object(
  {
    status: Type.Optional(
      Status(
        `fixed answer: its status (default ${RESPOND_DEFAULTS.status}). With \`target\`: the status of an exec target's answer when the command exits 0 (an http target's answer carries its own)`,
        RESPOND_DEFAULTS.status,
      ),
    ),
    headers: Type.Optional(Headers()),
    body: Type.Optional(Body()),
    target: Type.Optional(
      Type.String({
        pattern: "^[a-z0-9_-]+$",
        description:
          "name of one of the route's targets (not a `relay` target, whose events are pulled later): its first attempt runs at once and its answer is the provider's (http: status, headers but hop-by-hop ones, body; exec: stdout)",
      }),
    ),
    timeout: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        default: RESPOND_DEFAULTS.timeout,
        description: "with `target`: how long the request waits for that attempt; then `fallback` is answered and the delivery goes on",
      }),
    ),
    content_type: Type.Optional(
      Type.String({
        pattern: "^[^\\r\\n\\0]+$",
        default: RESPOND_DEFAULTS.content_type,
        description: "with `target`: the `Content-Type` of an exec target's answer (its stdout)",
      }),
    ),
    fallback: Type.Optional(
      AnswerSchema(
        'with `target`: the answer when the attempt has not finished within `timeout` (or the target\'s filter skipped the event); `status` defaults to 202. Without it: `202 {"status":"accepted","id":"…"}`',
      ),
    ),
    on_failure: Type.Optional(
      AnswerSchema(
        "with `target`: the answer when that attempt fails (it is retried as usual) or its answer is larger than `server.body_limit`; `status` defaults to 502. Without it: `fallback`",
      ),
    ),
    ignored: Type.Optional(
      AnswerSchema('the answer when the route filter ignores the event; `status` defaults to 200. Without it: `200 {"status":"ignored"}`'),
    ),
  },
  {
    additionalProperties: false,
    description:
      "what the provider hears: a fixed or templated answer, or the answer of one of the route's targets. See [Answers](#answers-respond)",
  },
);
