import type { Path } from "./interpolate.js";
import { markedValues } from "./marks.js";
import { ConfigSchema } from "./schema.js";

/**
 * Every JSONata field of a config document, wherever the rest of it is broken: the places the
 * schema marks as expressions (route `filter` and `dedupe.id`, and whatever the verifiers' and
 * targets' own schemas mark: a target's `filter`, `transform`, exec `args` and `env` values).
 * Loading checks their syntax and their lint from this one walk of the marks.
 */
export function forEachExpression(config: unknown, visit: (source: string, path: Path) => void): void {
  for (const { path, value, expression } of markedValues(ConfigSchema, config)) {
    if (expression && typeof value === "string") visit(value, path);
  }
}
