import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { targets } from "../plugins/targets/index.js";
import { verifiers } from "../plugins/verifiers/index.js";
import { ADDRESS_PATTERN } from "./addresses.js";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.js";

/**
 * The whole config file's schema: one source for ajv validation, the TypeScript types and
 * the README's tables. Every object is closed (`additionalProperties: false`), so a typo in a
 * key is an error that names it rather than a setting silently ignored.
 */

/** A verify or target block: validated by its plugin's own schema, so only `type` is known here. */
export type PluginBlock = { type: string } & Record<string, unknown>;

const Duration = (description: string) => Type.String({ pattern: DURATION_PATTERN, description });
const Address = (description: string) => Type.String({ pattern: ADDRESS_PATTERN, description });

/**
 * A union keyed by `type`. ajv's `discriminator` keyword reports errors of the matching
 * branch only (a plain oneOf would report every branch's errors for one typo).
 */
function byType(branches: readonly TSchema[], description: string) {
  return Type.Unsafe<PluginBlock>({
    type: "object",
    description,
    required: ["type"],
    properties: { type: { type: "string" } },
    discriminator: { propertyName: "type" },
    oneOf: [...branches],
  });
}

export const ServerSchema = Type.Object(
  {
    listen: Type.Optional(
      Address(
        "Webhook ingress address, host:port (default 127.0.0.1:8080; port 0 picks a free port, logged at start). serve --listen and SWITCHYARD_LISTEN override it.",
      ),
    ),
    admin: Type.Optional(
      Address(
        "Address for /metrics, /healthz, /readyz and the status page, not the port of listen. May be omitted only when listen is loopback: then they are served on listen. serve --admin and SWITCHYARD_ADMIN override it.",
      ),
    ),
    body_limit: Type.Optional(
      Type.String({ pattern: SIZE_PATTERN, description: "Largest request body accepted (default 1mb); larger gets 413." }),
    ),
    log_level: Type.Optional(
      Type.Union(
        ["trace", "debug", "info", "warn", "error", "fatal"].map((l) => Type.Literal(l)),
        { description: "Log level (default info; SWITCHYARD_LOG_LEVEL overrides)." },
      ),
    ),
    shutdown_timeout: Type.Optional(Duration("On SIGTERM, how long in-flight deliveries may take to finish (default 30s).")),
    max_connections: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description: "Open connections per listener (default 1024); connections beyond it are closed at once.",
      }),
    ),
    header_timeout: Type.Optional(
      Duration("A request's headers must arrive within this (default 10s); slower clients are cut off (slowloris)."),
    ),
    request_timeout: Type.Optional(
      Duration("A whole request, body included, must arrive within this (default 30s); at least header_timeout."),
    ),
    inflight_body_limit: Type.Optional(
      Type.String({
        pattern: SIZE_PATTERN,
        description:
          "Total size of request bodies being received and processed at once (default 64 × body_limit); beyond it new webhooks get 503 with Retry-After.",
      }),
    ),
    admin_token: Type.Optional(
      Type.String({
        minLength: 16,
        description:
          "When set, /metrics and the status page / require Authorization: Bearer <token> (use ${VAR}); /healthz and /readyz stay open.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const StoreSchema = Type.Object(
  {
    type: Type.Optional(
      Type.Union([Type.Literal("sqlite"), Type.Literal("redis")], {
        description: "sqlite (default, embedded) or redis (several instances share it).",
      }),
    ),
    path: Type.Optional(
      Type.String({ minLength: 1, description: "SQLite file (default ./data/switchyard.db), relative to the config file's folder." }),
    ),
    url: Type.Optional(Type.String({ pattern: "^rediss?://", description: "Redis URL, for type redis." })),
    prefix: Type.Optional(Type.String({ minLength: 1, description: "Redis key prefix (default switchyard)." })),
    allow_volatile: Type.Optional(
      Type.Boolean({
        description:
          "For type redis: start and keep accepting webhooks even if Redis runs without appendonly yes or with an eviction policy (default false: refuse to start, and answer 503 while such settings are found at run time), accepting that a Redis restart loses queued events.",
      }),
    ),
    retention: Type.Optional(
      Duration("How long finished events are kept for `switchyard events` (default 7d). Dead letters are kept until replayed."),
    ),
  },
  { additionalProperties: false },
);

export const DedupeSchema = Type.Union(
  [
    Type.Boolean({ description: "true: use the scheme's delivery id (X-GitHub-Delivery, webhook-id, …)." }),
    Type.Object(
      {
        id: Type.Optional(
          Type.String({ minLength: 1, description: "JSONata over the event giving the dedupe id (default: the scheme's delivery id)." }),
        ),
        ttl: Type.Optional(Duration("How long an id is remembered (default 24h).")),
      },
      { additionalProperties: false },
    ),
  ],
  { description: "Answer redeliveries with 200 duplicate and deliver them once." },
);

export const RouteSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z0-9_-]+$", maxLength: 64, description: "Unique; used in metrics labels and the CLI." }),
    path: Type.String({
      pattern: "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$",
      maxLength: 512,
      description: "Unique; the route answers POST on exactly this path.",
    }),
    verify: byType(
      verifiers.map((v) => v.schema),
      "How requests are authenticated: see Verification schemes.",
    ),
    dedupe: Type.Optional(DedupeSchema),
    filter: Type.Optional(
      Type.String({ minLength: 1, description: "JSONata over the event; falsy = answer 200 ignored and store nothing." }),
    ),
    targets: Type.Array(
      byType(
        targets.map((t) => t.schema),
        "Where events go: see Targets.",
      ),
      { minItems: 1 },
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Optional(ServerSchema),
    store: Type.Optional(StoreSchema),
    routes: Type.Array(RouteSchema, { description: "The webhook routes." }),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
