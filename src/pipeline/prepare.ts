import type { CompiledTarget } from "../config/compile.js";
import type { DeliveryInput } from "../plugins/targets/target.js";
import type { ReceivedEvent } from "./event.js";
import { isTruthy } from "./expression.js";

/**
 * A target's filter and transform over one event: what the worker runs before delivering and
 * what `switchyard test` shows. Throws ExpressionError when an expression fails.
 */
export async function prepare(
  target: CompiledTarget,
  event: ReceivedEvent,
): Promise<{ skip: true } | { skip: false; input: DeliveryInput }> {
  if (target.filter && !isTruthy(await target.filter.evaluate(event))) return { skip: true };
  const transformed = target.transform ? { value: await target.transform.evaluate(event) } : undefined;
  return { skip: false, input: { event, transformed } };
}
