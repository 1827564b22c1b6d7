import { Type } from "@sinclair/typebox";
import { ExpressionField } from "../../../config/marks.js";
import type { Expression } from "../../../pipeline/expression.js";
import type { DeliveryInput, OptionProblem, TargetContext } from "../target.js";

/** What the broker targets share: the message they publish and the name they publish it under. */

export const FORWARDS = ["body", "raw"] as const;

export const forwardProperty = Type.Optional(
  Type.Union(
    FORWARDS.map((f) => Type.Literal(f)),
    {
      default: "body",
      description:
        "`body`: the transform's result, else the event's body, as JSON (a string as its text); `raw`: the body bytes exactly as received (takes no `transform`)",
    },
  ),
);

export interface BrokerMessage {
  payload: Buffer;
  contentType?: string;
  /** The event's id, route and received time, as message headers / properties / MQTT v5 user properties. */
  headers: { "switchyard-event-id": string; "switchyard-route": string; "switchyard-received-at": string };
}

export function brokerMessage(input: DeliveryInput, forward: (typeof FORWARDS)[number]): BrokerMessage {
  const { event } = input;
  const headers = { "switchyard-event-id": event.id, "switchyard-route": event.route, "switchyard-received-at": event.receivedAt };
  if (forward === "raw") {
    const contentType = event.headers["content-type"];
    return contentType === undefined ? { payload: event.rawBody, headers } : { payload: event.rawBody, contentType, headers };
  }
  const value = input.transformed ? input.transformed.value : event.body;
  if (typeof value === "string") return { payload: Buffer.from(value, "utf8"), contentType: "text/plain; charset=utf-8", headers };
  // undefined (and a JSONata function) has no JSON: an empty message rather than the text "undefined".
  const json: string | undefined = JSON.stringify(value);
  return { payload: Buffer.from(json ?? "", "utf8"), contentType: "application/json", headers };
}

/** The text of a message for `switchyard test`: the payload as text when it is UTF-8. */
export function shownPayload(m: BrokerMessage): string {
  const text = m.payload.toString("utf8");
  return Buffer.from(text, "utf8").equals(m.payload) ? text : `(${m.payload.length} bytes as received, not UTF-8 text)`;
}

/** A fixed `topic` / `subject` / `routing_key`. */
export function nameField(name: string, what: string) {
  return Type.Optional(Type.String({ minLength: 1, description: `the ${what}; \`${name}_expression\` computes it per event instead` }));
}

/** Its computed form: JSONata over the event. */
export function nameExpressionField(name: string, what: string, example: string) {
  return Type.Optional(
    ExpressionField({
      description: `JSONata over the event giving the ${what}, e.g. \`${example}\`; exactly one of \`${name}\` and \`${name}_expression\` is required`,
    }),
  );
}

export type NameOf = (input: DeliveryInput) => Promise<string>;

/**
 * The target's `topic` / `subject` / `routing_key`: fixed, or computed. `valid` returns why a
 * name cannot be used, checked at load for a fixed one and per event for a computed one (a
 * computed name that is invalid fails the delivery for good: the same event computes it again).
 */
export function compileName(
  field: string,
  fixed: string | undefined,
  expression: string | undefined,
  ctx: TargetContext,
  valid: (name: string) => string | undefined,
  problems: OptionProblem[],
): NameOf {
  if ((fixed === undefined) === (expression === undefined)) {
    problems.push({ field, message: `write exactly one of ${field} and ${field}_expression` });
    return async () => "";
  }
  if (fixed !== undefined) {
    const why = valid(fixed);
    if (why) problems.push({ field, message: why });
    return async () => fixed;
  }
  const e: Expression = ctx.compile(expression ?? "", `${field}_expression`);
  return async (input) => {
    const value = await e.evaluate(input.event);
    const name = typeof value === "string" ? value : typeof value === "number" ? String(value) : undefined;
    if (name === undefined || name === "")
      throw new NameError(`${field}_expression gave ${value === undefined ? "nothing" : JSON.stringify(value)}, not a ${field}`);
    const why = valid(name);
    if (why) throw new NameError(`${field}_expression gave ${JSON.stringify(name)}: ${why}`);
    return name;
  };
}

/** A computed name that cannot be used: the delivery fails for good. */
export class NameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NameError";
  }
}

/** A broker URL as it may be logged: no `user:password@`. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.href.replace(/\/$/, "");
  } catch {
    return "(an invalid URL)";
  }
}

/**
 * The broker URL, when it parses and has one of `protocols` (`["mqtt:", "mqtts:"]`); otherwise
 * undefined, with the problem added (the URL shown without its credentials).
 */
export function brokerUrl(url: string, protocols: readonly string[], problems: OptionProblem[]): URL | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    problems.push({ field: "url", message: `is not a valid URL: "${shownUrl(url)}"` });
    return undefined;
  }
  if (!protocols.includes(u.protocol)) {
    const names = protocols.map((p) => `${p}//`);
    const list = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names.at(-1)}` : names[0];
    problems.push({ field: "url", message: `must start with ${list}, not ${u.protocol}//` });
  }
  return u;
}

/** `forward`, with the problem of a `transform` beside `forward: raw` added. */
export function forwardOf(
  o: { forward?: (typeof FORWARDS)[number]; transform?: string },
  problems: OptionProblem[],
): (typeof FORWARDS)[number] {
  const forward = o.forward ?? "body";
  if (forward === "raw" && o.transform !== undefined)
    problems.push({
      field: "transform",
      message: "cannot be used with forward: raw, which sends the body as received: remove one of them",
    });
  return forward;
}
