import type { Path } from "./interpolate.js";

/**
 * Every JSONata field of a config document, wherever the rest of it is broken: route `filter`
 * and `dedupe.id`, target `filter`, `transform`, `args` and `env` values. Loading checks their
 * syntax and their lint from this one list.
 */
export function forEachExpression(config: unknown, visit: (source: string, path: Path) => void): void {
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const field = (source: unknown, path: Path) => {
    if (typeof source === "string") visit(source, path);
  };
  list(obj(config).routes).forEach((route, i) => {
    const r = obj(route);
    field(r.filter, ["routes", i, "filter"]);
    field(obj(r.dedupe).id, ["routes", i, "dedupe", "id"]);
    list(r.targets).forEach((target, j) => {
      const t = obj(target);
      const at = ["routes", i, "targets", j];
      field(t.filter, [...at, "filter"]);
      field(t.transform, [...at, "transform"]);
      list(t.args).forEach((a, k) => {
        field(a, [...at, "args", k]);
      });
      for (const [name, e] of Object.entries(obj(t.env))) field(e, [...at, "env", name]);
    });
  });
}
