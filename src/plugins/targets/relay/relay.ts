import { Type } from "@sinclair/typebox";
import { SecretField } from "../../../config/marks.js";
import { DURATION_PATTERN, parseDuration } from "../../../config/units.js";
import { defineTarget, type OptionProblem, OptionProblems } from "../target.js";

/** Events handed out per pull at most: a puller asking for more gets this many. */
export const RELAY_BATCH_DEFAULT = 100;
export const RELAY_BATCH_MAX = 1000;
/** Long enough that a home rebooting or a puller reconnecting does not alert; short enough to notice the same hour. */
export const RELAY_LAG_ALERT_DEFAULT = "10m";
const PATH_PATTERN = "^/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*$";

/**
 * A relay target: its deliveries are not pushed by the worker. They wait in the store and are
 * handed out, leased, to a puller (`relays:` at home, `switchyard relay pull`) at `path` on the
 * webhook listener, and are settled `delivered` only when the puller acknowledges them after its
 * own durable write. See src/relay/relay-endpoint.ts.
 */
export const relay = defineTarget({
  type: "relay",
  description:
    "Keeps the request as received for a puller on another machine (the home instance's `relays:`, or `switchyard relay pull`), which fetches it over an outbound HTTPS connection: see [Relay](#relay-receive-webhooks-at-home-without-opening-a-port). `timeout` is the lease: a batch not acknowledged within it is handed out again",
  defaultTimeout: "60s",
  defaultConcurrency: 1,
  properties: {
    path: Type.String({
      pattern: PATH_PATTERN,
      maxLength: 512,
      description:
        "where the puller fetches and acknowledges, on the webhook listener (`GET path`, `POST path/ack`); unique among routes' and relays' paths",
    }),
    token: Type.Optional(
      SecretField(
        "value",
        Type.String({ minLength: 16, description: "the puller's credential (`Authorization: Bearer <token>`); at least 16 characters" }),
      ),
    ),
    tokens: Type.Optional(
      Type.Array(SecretField("value", Type.String({ minLength: 16 })), {
        minItems: 1,
        description: "instead of `token`: any one may match (rotation: `[new, old]`)",
      }),
    ),
    batch: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: RELAY_BATCH_MAX,
        default: RELAY_BATCH_DEFAULT,
        description: "events handed out per pull at most; a puller asking for more gets this many",
      }),
    ),
    lag_alert: Type.Optional(
      Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Literal(false)], {
        default: RELAY_LAG_ALERT_DEFAULT,
        description:
          "raise the `relay.lagging` alert when the oldest event not yet acknowledged by a puller is this old (`switchyard_relay_lag_seconds`); `false`: never",
      }),
    ),
  },
  create(o) {
    const problems: OptionProblem[] = [];
    const given = [o.token, o.tokens].filter((t) => t !== undefined).length;
    if (given !== 1) problems.push({ field: "token", message: given === 0 ? "needs token or tokens" : "give only one of token, tokens" });
    // The puller gets the request byte for byte so the home verifies the provider's signature:
    // a transformed body would no longer match it.
    if (o.transform !== undefined)
      problems.push({ field: "transform", message: "a relay hands on the request as received; transform does not apply" });
    if (problems.length > 0) throw new OptionProblems(problems);
    const tokens = (o.tokens ?? [o.token ?? ""]).map((t) => Buffer.from(t, "utf8"));
    const pulled = {
      path: o.path.length > 1 && o.path.endsWith("/") ? o.path.slice(0, -1) : o.path,
      tokens,
      batch: o.batch ?? RELAY_BATCH_DEFAULT,
      ...(o.lag_alert === false ? {} : { lagAlertMs: parseDuration(o.lag_alert ?? RELAY_LAG_ALERT_DEFAULT) }),
    };
    return {
      pulled,
      render: async () => ({ pulledAt: pulled.path }),
      // Never called: the worker leaves pulled targets to the relay endpoint.
      deliver: async () => ({ kind: "retry", error: "relay deliveries are pulled, not pushed" }),
    };
  },
});
