import type { Static } from "@sinclair/typebox";
import type { Expression } from "../pipeline/expression.js";
import type { CompileHelpers } from "./compile-route.js";
import type { Path } from "./interpolate.js";
import { RESPOND_DEFAULTS, type RespondSchema } from "./respond-schema.js";
import { didYouMean } from "./suggest.js";
import { parseDuration } from "./units.js";

type RespondConfig = Static<typeof RespondSchema>;
type AnswerConfig = NonNullable<RespondConfig["fallback"]>;

/** A fixed or templated answer. Without `body`, the case's usual body (`accepted` with the id, `ignored`). */
export interface CompiledAnswer {
  status: number;
  headers: Record<string, string>;
  body?: Expression;
}

/** `respond.target`: the named target's first attempt is the answer. */
export interface TargetRespond {
  target: string;
  timeoutMs: number;
  /** An exec target's answer: status on exit 0, and its Content-Type. */
  status: number;
  contentType: string;
  /** Added to the target's answer. */
  headers: Record<string, string>;
  fallback: CompiledAnswer;
  onFailure: CompiledAnswer;
}

export interface CompiledRespond {
  /** The answer to a stored event (no `target`); undefined with `target`. */
  accepted?: CompiledAnswer;
  target?: TargetRespond;
  /** The answer when the route filter ignores the event; undefined: `200 {"status":"ignored"}`. */
  ignored?: CompiledAnswer;
}

/** What an answer gives the provider when the config leaves it out: today's answers. */
export const DEFAULT_STATUS = { accepted: RESPOND_DEFAULTS.status, fallback: 202, on_failure: 502, ignored: 200 } as const;

/** Keys that mean something only beside `target`, and those that do not go with it. */
const TARGET_ONLY = ["timeout", "content_type", "fallback", "on_failure"] as const;

/**
 * `respond` → its compiled answers, or undefined with the problems reported (naming the place:
 * `routes[0].respond.target`). `targetNames`: the route's targets, which `target` must name.
 */
export function compileRespond(
  r: RespondConfig,
  at: Path,
  targetNames: readonly string[],
  h: Pick<CompileHelpers, "issue" | "expr">,
): CompiledRespond | undefined {
  let sound = true;
  const problem = (path: Path, message: string) => {
    sound = false;
    h.issue([...at, ...path], message);
  };
  const answer = (a: AnswerConfig | undefined, key: string, status: number): CompiledAnswer | undefined => {
    if (a === undefined) return undefined;
    const body = a.body === undefined ? undefined : h.expr(a.body, [...at, key, "body"]);
    if (a.body !== undefined && body === undefined) sound = false;
    return { status: a.status ?? status, headers: a.headers ?? {}, ...(body ? { body } : {}) };
  };
  const ignored = answer(r.ignored, "ignored", DEFAULT_STATUS.ignored);
  let result: CompiledRespond;
  if (r.target === undefined) {
    for (const key of TARGET_ONLY) if (r[key] !== undefined) problem([key], "applies only to an answer from a target: add `target`");
    const body = r.body === undefined ? undefined : h.expr(r.body, [...at, "body"]);
    if (r.body !== undefined && body === undefined) sound = false;
    const fixed = r.status !== undefined || r.headers !== undefined || r.body !== undefined;
    result = fixed
      ? { accepted: { status: r.status ?? DEFAULT_STATUS.accepted, headers: r.headers ?? {}, ...(body ? { body } : {}) } }
      : {};
  } else {
    if (!targetNames.includes(r.target))
      problem(
        ["target"],
        `no target of this route is named ${r.target}${didYouMean(r.target, targetNames)}; the route's targets: ${targetNames.join(", ")}`,
      );
    if (r.body !== undefined)
      problem(
        ["body"],
        "the target's answer is the body: give a body to fallback or on_failure instead, or drop target for a fixed answer",
      );
    const fallback = answer(r.fallback, "fallback", DEFAULT_STATUS.fallback) ?? { status: DEFAULT_STATUS.fallback, headers: {} };
    const onFailure = answer(r.on_failure, "on_failure", DEFAULT_STATUS.on_failure) ?? fallback;
    result = {
      target: {
        target: r.target,
        timeoutMs: parseDuration(r.timeout ?? RESPOND_DEFAULTS.timeout),
        status: r.status ?? RESPOND_DEFAULTS.status,
        contentType: r.content_type ?? RESPOND_DEFAULTS.content_type,
        headers: r.headers ?? {},
        fallback,
        onFailure,
      },
    };
  }
  if (!sound) return undefined;
  return ignored ? { ...result, ignored } : result;
}
