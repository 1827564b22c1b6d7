import { type Static, type TLiteral, type TObject, type TProperties, Type } from "@sinclair/typebox";
import type { Logger } from "pino";
import type { Path } from "../../config/interpolate.js";
import { ExpressionField } from "../../config/marks.js";
import { DURATION_PATTERN, parseDuration } from "../../config/units.js";
import { RETRY_DEFAULTS } from "../../pipeline/backoff.js";
import type { ReceivedEvent } from "../../pipeline/event.js";
import type { Expression } from "../../pipeline/expression.js";
import { PauseAfterSchema } from "../../pipeline/pause-policy.js";
import type { CommandRunner } from "./exec/helper-client.js";

/**
 * A delivery's result as a value (Vector's `Retry | DontRetry | Successful`): the worker turns
 * it into a settlement (done, retry at t, dead letter). Throwing is reserved for bugs.
 */
export type DeliveryOutcome = (
  | { kind: "delivered"; detail: string }
  | { kind: "retry"; error: string; retryAfterMs?: number }
  | { kind: "fail"; error: string }
) &
  AttemptDetail;

/** What the target answered, for the delivery's attempt log (the console shows it). */
export interface AttemptDetail {
  /** The HTTP status (http targets). */
  status?: number;
  /** The command's exit code (exec targets). */
  exitCode?: number;
  /** The answer's body or the command's output, secrets masked; the store keeps its first 4 KB. */
  response?: string;
  /** The target's whole answer, when the delivery input asked for it (`DeliveryInput.answer`). */
  answer?: TargetAnswer;
}

/**
 * A target's answer, passed on to the provider by `respond.target`: http gives its status,
 * end-to-end headers and body; exec its stdout (the route's `respond` adds status and type).
 * Secrets of the config are masked in a text body, as in the attempt log.
 */
export type TargetAnswer =
  | { kind: "answer"; status?: number; headers: Record<string, string>; body: Buffer }
  /** The answer was larger than the limit asked for: not passed on. */
  | { kind: "too_large"; limit: number };

export interface DeliveryInput {
  /** The event; `rawBody` holds its body bytes as received (what `forward: raw` sends). */
  event: ReceivedEvent;
  /** Present when the target has a `transform`: its result. */
  transformed?: { value: unknown };
  /** Present when this attempt answers the webhook: keep the target's answer up to `limit` bytes. */
  answer?: { limit: number };
}

/** A target whose deliveries wait in the store to be pulled (relay), instead of being pushed by the worker. */
export interface PulledTarget {
  /** Where the puller fetches them on the webhook listener. */
  path: string;
  /** Credentials a puller may present; any one matches. */
  tokens: readonly Buffer[];
  /** Most events handed out per pull. */
  batch: number;
  /** `relay.lagging` is raised once the oldest unacknowledged event is this old; undefined: never. */
  lagAlertMs?: number;
}

export interface Target {
  /** Present on a relay target: the worker leaves its deliveries to the relay endpoint. */
  readonly pulled?: PulledTarget;
  /**
   * Only the newest due delivery matters (a deploy of the latest commit): the worker claims it
   * and finishes the older waiting ones as `coalesced` in the same step.
   */
  readonly coalesce?: boolean;
  /**
   * What a delivery would send, without sending it: `switchyard test` prints this.
   * http: { method, url, headers, body }; exec: { argv, env, stdin }.
   */
  render(input: DeliveryInput): Promise<Record<string, unknown>>;
  /** Sends one delivery. `signal` aborts it on shutdown. Never throws for a target's failure. */
  deliver(input: DeliveryInput, signal: AbortSignal): Promise<DeliveryOutcome>;
  /**
   * Targets that keep a connection (brokers): `open` starts connecting once the daemon serves
   * the target (never at `check` or `test`), `connected` is its state for the metric and the
   * console, and `close` ends it when a reload drops the target or the daemon stops. A reload
   * that keeps a target's options identical keeps the target, and its connection.
   */
  open?(): void;
  connected?(): boolean;
  close?(): Promise<void>;
  /**
   * A digest of what `create` read besides its options (the contents of certificate and
   * credential files): a reload keeps the running target only if this is unchanged too, so a
   * rotated certificate or NATS creds file takes effect on the next reload.
   */
  readonly filesDigest?: string;
}

/** One problem with one option of a target, found when it is built: `url`, `headers.X-Token`, `cwd`. */
export interface OptionProblem {
  field: string;
  message: string;
}

/**
 * Thrown by a target's `create` with every problem it found in its options, so that one
 * `check` run lists them all rather than the first.
 */
export class OptionProblems extends Error {
  constructor(readonly problems: readonly OptionProblem[]) {
    super(problems.map((p) => `${p.field}: ${p.message}`).join("; "));
    this.name = "OptionProblems";
  }
}

export interface TargetContext {
  /** The target's place in the config, e.g. `routes[0].targets[1]`. */
  where: string;
  route: string;
  name: string;
  /** The folder of the config file: relative paths written in it (`./deploy.sh`) resolve against it. */
  configDir: string;
  /** The target's `timeout` in milliseconds (its own default when not written). */
  timeoutMs: number;
  /**
   * Compiles a JSONata field of this target. A syntax error is reported (naming
   * `${where}.${field}`) without throwing, so the plugin goes on checking its other options;
   * the target is then not built.
   */
  compile(source: string, field: string): Expression;
  log: Logger;
  /** Masks the config's secret values in a text that is about to be logged (a command's output). */
  redact(text: string): string;
  /** Runs commands (exec): the daemon's exec helper, which each daemon owns. */
  commands: CommandRunner;
}

export const retryProperties = Type.Object(
  {
    attempts: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1000, default: RETRY_DEFAULTS.attempts, description: "Total tries, the first included." }),
    ),
    backoff: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        default: RETRY_DEFAULTS.backoff,
        description: "Base delay, doubled each retry, with full jitter.",
      }),
    ),
    max_backoff: Type.Optional(
      Type.String({
        pattern: DURATION_PATTERN,
        default: RETRY_DEFAULTS.max_backoff,
        description: "Cap on one delay, Retry-After included.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description:
      "`attempts` counts the first try; `backoff` is the base delay; the wait before try n+1 is random in `[0, min(max_backoff, backoff × 2^(n-1))]` (full jitter)",
  },
);

/** Fields every target takes, with this target's defaults; the worker, not the plugin, acts on them. */
function targetCommonProperties(defaultTimeout: string, defaultConcurrency: number) {
  return {
    name: Type.String({ pattern: "^[a-z0-9_-]+$", maxLength: 64, description: "unique within the route; a metrics label" }),
    filter: Type.Optional(ExpressionField({ description: "JSONata over the event; falsy → this target is skipped (state `skipped`)" })),
    transform: Type.Optional(ExpressionField({ description: "JSONata over the event; its result is what is sent" })),
    timeout: Type.Optional(Type.String({ pattern: DURATION_PATTERN, default: defaultTimeout, description: "limit on one attempt" })),
    retry: Type.Optional(retryProperties),
    pause_after: Type.Optional(PauseAfterSchema),
    concurrency: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1000,
        default: defaultConcurrency,
        description: "deliveries of this target in flight at once (across all instances on Redis)",
      }),
    ),
  };
}

type CommonProperties = ReturnType<typeof targetCommonProperties>;

/** The keys every target takes, in the README's order: the worker acts on them, not the plugin. */
export const TARGET_COMMON_KEYS: readonly string[] = [
  "name",
  "type",
  ...Object.keys(targetCommonProperties("1s", 1)).filter((k) => k !== "name"),
];

/** A problem a target's own load-time check found, at a place under the target (`["command", 0]`). */
export interface TargetProblem {
  at: Path;
  message: string;
  /** A warning is shown by `check` and at load, and does not stop the config (a setting that can lose messages). */
  severity?: "error" | "warning";
}

/** What a load-time check may look at beyond the options. */
export interface CheckContext {
  configDir: string;
  env: NodeJS.ProcessEnv;
}

export interface TargetPlugin {
  readonly type: string;
  readonly description: string;
  readonly schema: TObject;
  readonly defaultTimeoutMs: number;
  readonly defaultConcurrency: number;
  /**
   * Checks that need the machine rather than the schema (a command exists). Problems are
   * reported and the target is still built, so that one `check` run lists every problem.
   */
  check(options: Record<string, unknown>, ctx: CheckContext): TargetProblem[];
  /** Builds the target; throws OptionProblems listing every problem with its options. */
  create(options: Record<string, unknown>, ctx: TargetContext): Target;
}

export function defineTarget<T extends string, P extends TProperties>(spec: {
  type: T;
  description: string;
  /** `timeout` when the config gives none, as a duration (`10s`). */
  defaultTimeout: string;
  defaultConcurrency: number;
  properties: P;
  check?(options: Static<TObject<P & CommonProperties & { type: TLiteral<T> }>>, ctx: CheckContext): TargetProblem[];
  create(options: Static<TObject<P & CommonProperties & { type: TLiteral<T> }>>, ctx: TargetContext): Target;
}): TargetPlugin {
  const schema = Type.Object(
    { ...targetCommonProperties(spec.defaultTimeout, spec.defaultConcurrency), type: Type.Literal(spec.type), ...spec.properties },
    { additionalProperties: false, description: spec.description },
  ) as unknown as TObject;
  return {
    type: spec.type,
    description: spec.description,
    schema,
    defaultTimeoutMs: parseDuration(spec.defaultTimeout),
    defaultConcurrency: spec.defaultConcurrency,
    check: (spec.check ?? (() => [])) as unknown as TargetPlugin["check"],
    create: spec.create as unknown as TargetPlugin["create"],
  };
}
