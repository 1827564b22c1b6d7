import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { ALERT_KIND_NAMES } from "../alerts/alert-kinds.js";
import { targets } from "../plugins/targets/index.js";
import { verifiers } from "../plugins/verifiers/index.js";
import { RelaySchema } from "../relay/relay-settings.js";
import { ADDRESS_PATTERN, DEFAULT_LISTEN } from "./addresses.js";
import { DEFAULT_TEXT_MARK, ExpressionField, SecretField } from "./marks.js";
import { RespondSchema } from "./respond-schema.js";
import { DURATION_PATTERN, SIZE_PATTERN } from "./units.js";

/**
 * The whole config file's schema: one source for ajv validation, the TypeScript types and
 * the README's tables. Every object is closed (`additionalProperties: false`), so a typo in a
 * key is an error that names it rather than a setting silently ignored.
 */

/** A verify or target block: validated by its plugin's own schema, so only `type` is known here. */
export type PluginBlock = { type: string } & Record<string, unknown>;

const Duration = (description: string, defaultValue?: string) =>
  Type.String({ pattern: DURATION_PATTERN, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });
const Address = (description: string, defaultValue?: string) =>
  Type.String({ pattern: ADDRESS_PATTERN, description, ...(defaultValue === undefined ? {} : { default: defaultValue }) });

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

/** What an omitted key means; compile reads these, the schema's `default`s (and so the README) show them. */
export const SERVER_DEFAULTS = {
  listen: DEFAULT_LISTEN,
  body_limit: "1mb",
  log_level: "info",
  shutdown_timeout: "30s",
  max_connections: 1024,
  trust_proxy: 0,
  header_timeout: "10s",
  request_timeout: "30s",
} as const;
/** The in-flight body budget, in bodies of the largest size: 64 MiB with the default 1mb body_limit. */
export const DEFAULT_INFLIGHT_BODIES = 64;

export const STORE_DEFAULTS = {
  type: "sqlite",
  path: "./data/switchyard.db",
  prefix: "switchyard",
  allow_volatile: false,
  retention: "7d",
} as const;

export const DEDUPE_DEFAULTS = { ttl: "24h" } as const;

/** Alerts of one kind for one target within this window are one message, then one summary. */
export const ALERT_GROUP_DEFAULT = "5m";

export const ServerSchema = Type.Object(
  {
    listen: Type.Optional(
      Address(
        "webhook ingress, `host:port` (`[::1]:8080` for IPv6; port `0` picks a free one, logged at start). `serve --listen` or `SWITCHYARD_LISTEN` override it",
        SERVER_DEFAULTS.listen,
      ),
    ),
    admin: Type.Optional(
      Address(
        "address for `/metrics`, `/healthz`, `/readyz` and the console (`/` and its API under `/api/v1`), on a port of its own (not `listen`'s: `check` refuses that). May be omitted only when `listen` is loopback: they are then served on `listen`. Required otherwise, so metrics never face the internet by accident. `serve --admin` or `SWITCHYARD_ADMIN` override it",
      ),
    ),
    body_limit: Type.Optional(
      Type.String({
        pattern: SIZE_PATTERN,
        default: SERVER_DEFAULTS.body_limit,
        description: "largest request body; larger gets 413, enforced while the body streams in",
      }),
    ),
    log_level: Type.Optional(
      Type.Union(
        ["trace", "debug", "info", "warn", "error", "fatal"].map((l) => Type.Literal(l)),
        { default: SERVER_DEFAULTS.log_level, description: "`SWITCHYARD_LOG_LEVEL` overrides" },
      ),
    ),
    shutdown_timeout: Type.Optional(
      Duration(
        "on SIGTERM, how long in-flight deliveries may run before they are aborted and handed back to the queue",
        SERVER_DEFAULTS.shutdown_timeout,
      ),
    ),
    max_connections: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        default: SERVER_DEFAULTS.max_connections,
        description:
          "open connections per listener; a connection beyond it is closed at once (counted in `switchyard_ingress_refused_total`)",
      }),
    ),
    header_timeout: Type.Optional(
      Duration(
        "a request's headers must arrive within this, or the connection is closed with 408 (slowloris)",
        SERVER_DEFAULTS.header_timeout,
      ),
    ),
    request_timeout: Type.Optional(
      Duration(
        "a whole request, body included, must arrive within this; at least `header_timeout`. Raise it with `body_limit` for slow senders of large bodies",
        SERVER_DEFAULTS.request_timeout,
      ),
    ),
    inflight_body_limit: Type.Optional(
      Type.String({
        pattern: SIZE_PATTERN,
        [DEFAULT_TEXT_MARK]: `${DEFAULT_INFLIGHT_BODIES} × \`body_limit\``,
        description:
          "total size of the request bodies being received and processed at once; beyond it a webhook gets `503` with `Retry-After` before its body is read. Bounds the memory a flood of large requests can take",
      }),
    ),
    tls: Type.Optional(
      Type.Object(
        {
          cert_file: Type.String({
            minLength: 1,
            description: "PEM certificate chain (certbot's `fullchain.pem`), relative to the config file's folder",
          }),
          key_file: Type.String({ minLength: 1, description: "PEM private key (certbot's `privkey.pem`)" }),
        },
        {
          additionalProperties: false,
          description:
            "serve `listen` over HTTPS with this certificate and key; both files are read again on every reload (SIGHUP after a certbot renewal), and a reload that cannot read them keeps the old ones serving. The admin address on a port of its own stays plain HTTP",
        },
      ),
    ),
    trust_proxy: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 16,
        default: SERVER_DEFAULTS.trust_proxy,
        description:
          "how many reverse proxies of yours stand in front of `listen`: a route's `allow_from` then judges the address that many hops back in `X-Forwarded-For` rather than the proxy's. `0` uses the peer address and ignores the header. Set it only when `listen` cannot be reached except through those proxies, or anyone can write the header",
      }),
    ),
    public_url: Type.Optional(
      Type.String({
        pattern: "^https?://[^\\s]+$",
        description:
          "the address people open the console at (`https://switchyard.example.net`): alerts then link to the event they are about",
      }),
    ),
    admin_token: Type.Optional(
      SecretField(
        "value",
        Type.String({
          minLength: 16,
          description:
            "at least 16 characters (write `${ADMIN_TOKEN}`): `/metrics` and the console API `/api/v1/…` then want `Authorization: Bearer <token>` and answer 401 without it; `/healthz` and `/readyz` stay open for orchestrators' probes. Required for the API's write endpoints (replay, try a route) when the admin address is not loopback: they answer 403 without it. Without it the API also answers only requests addressed to an IP address or `localhost` (no DNS rebinding)",
        }),
      ),
    ),
  },
  { additionalProperties: false },
);

export const StoreSchema = Type.Object(
  {
    type: Type.Optional(
      Type.Union([Type.Literal("sqlite"), Type.Literal("redis")], {
        default: STORE_DEFAULTS.type,
        description:
          "`sqlite` (embedded, one instance) or `redis` (several instances share it, see [Running several instances](#running-several-instances))",
      }),
    ),
    path: Type.Optional(
      Type.String({
        minLength: 1,
        default: STORE_DEFAULTS.path,
        description: "the SQLite file (WAL mode; an accepted event is fsync'd before the 202); its folder is created",
      }),
    ),
    url: Type.Optional(
      SecretField("url", Type.String({ pattern: "^rediss?://", description: "`redis://` or `rediss://` URL, for `type: redis`" })),
    ),
    prefix: Type.Optional(
      Type.String({ minLength: 1, default: STORE_DEFAULTS.prefix, description: "Redis key prefix, for `type: redis`" }),
    ),
    allow_volatile: Type.Optional(
      Type.Boolean({
        default: STORE_DEFAULTS.allow_volatile,
        description:
          "for `type: redis`: start, and keep accepting webhooks, on a Redis that would lose the queue (no `appendonly yes`, or an eviction policy), with a warning; without it `serve` refuses to start on such a Redis and answers 503 while such settings are found at run time. See [What Redis must be set up for](#what-redis-must-be-set-up-for)",
      }),
    ),
    retention: Type.Optional(
      Duration(
        "how long finished events stay listable in `switchyard events`; dead letters stay until replayed. Pruned every tenth of it (at least every second, at most every minute), in small batches; a reload applies a new value",
        STORE_DEFAULTS.retention,
      ),
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
          ExpressionField({ description: "JSONata over the event giving the dedupe id (default: the scheme's delivery id)." }),
        ),
        ttl: Type.Optional(Duration("How long an id is remembered.", DEDUPE_DEFAULTS.ttl)),
      },
      { additionalProperties: false },
    ),
  ],
  {
    description: `\`true\`: use the scheme's delivery id; or \`{ id: <JSONata>, ttl: ${DEDUPE_DEFAULTS.ttl} }\` (both optional; \`ttl\` default \`${DEDUPE_DEFAULTS.ttl}\`). A request without an id is not deduplicated`,
  },
);

export const RouteSchema = Type.Object(
  {
    name: Type.String({ pattern: "^[a-z0-9_-]+$", maxLength: 64, description: "unique, `[a-z0-9_-]+`, at most 64 characters" }),
    path: Type.Optional(
      Type.String({
        pattern: "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$",
        maxLength: 512,
        description:
          "unique; the route answers POST (or its `methods`) on exactly this path (a trailing `/` is tolerated). A route has `path` or `on`, not both",
      }),
    ),
    on: Type.Optional(
      Type.Array(Type.Union(ALERT_KIND_NAMES.map((k) => Type.Literal(k))), {
        minItems: 1,
        uniqueItems: true,
        description:
          "instead of `path`: the route receives Switchyard's own events of these kinds (see [Alerts](#alerts)), with its filter, transform, targets, retries and dedupe. Takes no `verify` or `allow_from`",
      }),
    ),
    group: Type.Optional(
      Type.Union([Duration("", ALERT_GROUP_DEFAULT), Type.Literal(false)], {
        default: ALERT_GROUP_DEFAULT,
        description:
          "for `on` routes: alerts of one kind for one target within this window are sent as one message, then one summary at its end saying how many were grouped; `false` sends each",
      }),
    ),
    verify: Type.Optional(
      byType(
        verifiers.map((v) => v.schema),
        "how requests are authenticated (required with `path`): see [Verification schemes](#verification-schemes)",
      ),
    ),
    allow_from: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "IPv4 and IPv6 addresses or CIDR ranges (`192.168.1.0/24`, `10.0.0.5`, `fd00::/8`): a request from any other address gets 403 (counted as `rejected`, the address logged), whatever the scheme. See `server.trust_proxy` behind a reverse proxy",
      }),
    ),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: "^[A-Z]+$" }), {
        minItems: 1,
        uniqueItems: true,
        default: ["POST"],
        description:
          "the HTTP methods the route takes (upper case, e.g. `[POST, GET]`); others get 405. A GET or HEAD is stored with its query and an empty body",
      }),
    ),
    content_type: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          "parse every body as this Content-Type (`application/json`, `application/x-www-form-urlencoded`), whatever the request says: for senders that send none or a wrong one. The stored request keeps the header it came with",
      }),
    ),
    dedupe: Type.Optional(DedupeSchema),
    filter: Type.Optional(
      ExpressionField({
        description:
          'JSONata over the event, plus `client` (the sender\'s address, as `allow_from` judges it); a falsy result answers `200 {"status":"ignored"}` and stores nothing',
      }),
    ),
    targets: Type.Array(
      byType(
        targets.map((t) => t.schema),
        "Where events go: see Targets.",
      ),
      { minItems: 1, description: "one or more, see [Targets](#targets)" },
    ),
    respond: Type.Optional(RespondSchema),
  },
  // A webhook route (no `on`) needs its path and verify block, reported like any missing key;
  // what an `on` route may not have is checked by compile, which names each key.
  {
    additionalProperties: false,
    if: { properties: { on: {} }, required: ["on"] },
    else: { properties: { path: {}, verify: {} }, required: ["path", "verify"] },
  },
);

export const ConfigSchema = Type.Object(
  {
    server: Type.Optional(ServerSchema),
    store: Type.Optional(StoreSchema),
    routes: Type.Array(RouteSchema, { description: "The webhook routes." }),
    relays: Type.Optional(
      Type.Array(RelaySchema, {
        description: "Edges this instance pulls webhooks from: see [Relay](#relay-receive-webhooks-at-home-without-opening-a-port).",
      }),
    ),
  },
  { additionalProperties: false },
);

export type Config = Static<typeof ConfigSchema>;
export type RouteConfig = Static<typeof RouteSchema>;
