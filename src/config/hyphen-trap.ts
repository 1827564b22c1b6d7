import jsonata from "jsonata";

/**
 * JSONata reads `headers.x-github-event` as `headers.x - github - event`: a subtraction of
 * fields that do not exist, which is undefined, so a filter written that way silently ignores
 * every event. A name with hyphens must be quoted: `headers."x-github-event"`. This finds a
 * dotted path whose last step is followed by `-name` with no space on either side of the minus
 * (someone who means to subtract usually writes spaces) and says how to write it.
 */

interface AstNode {
  type?: string;
  value?: unknown;
  position?: number;
  lhs?: unknown;
  rhs?: unknown;
  steps?: AstNode[];
  stages?: unknown[];
  predicate?: unknown[];
  group?: unknown;
}

const NAME_CHARS = /[A-Za-z0-9_-]/;

function isNode(v: unknown): v is AstNode {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A plain name step (`x`, not `x[0]` or a backquoted name) and where it starts in the source. */
function plainName(step: AstNode | undefined, source: string): { start: number; end: number } | undefined {
  if (step?.type !== "name" || typeof step.value !== "string" || typeof step.position !== "number") return undefined;
  if (step.stages?.length || step.predicate?.length || step.group) return undefined;
  const start = step.position - step.value.length;
  // Backquoted names end with a backquote: their text is not the value.
  return source.slice(start, step.position) === step.value ? { start, end: step.position } : undefined;
}

/** The warning for the first such subtraction in `source`, or undefined. */
export function hyphenTrap(source: string): string | undefined {
  let ast: unknown;
  try {
    ast = jsonata(source).ast();
  } catch {
    return undefined; // a syntax error is reported on its own
  }
  const seen = new Set<unknown>();
  const visit = (node: unknown): string | undefined => {
    if (typeof node !== "object" || node === null || seen.has(node)) return undefined;
    seen.add(node);
    if (isNode(node) && node.type === "binary" && node.value === "-") {
      const found = check(node, source);
      if (found) return found;
    }
    for (const child of Object.values(node)) {
      const found = visit(child);
      if (found) return found;
    }
    return undefined;
  };
  return visit(ast);
}

function check(minus: AstNode, source: string): string | undefined {
  const lhs = isNode(minus.lhs) ? minus.lhs : undefined;
  const rhs = isNode(minus.rhs) ? minus.rhs : undefined;
  if (lhs?.type !== "path" || rhs?.type !== "path" || !lhs.steps || !rhs.steps || typeof minus.position !== "number") return undefined;
  const last = plainName(lhs.steps[lhs.steps.length - 1], source);
  const next = plainName(rhs.steps[0], source);
  const first = plainName(lhs.steps[0], source);
  const minusAt = minus.position - 1;
  // `a-b` alone may be a subtraction of two fields; `headers.x-github-event` is not.
  if (lhs.steps.length < 2 || !last || !next || !first || last.end !== minusAt || next.start !== minusAt + 1) return undefined;
  let end = next.end;
  while (end < source.length && NAME_CHARS.test(source[end] ?? "")) end++;
  const name = source.slice(last.start, end);
  const written = source.slice(first.start, end);
  const meant = `${source.slice(first.start, last.start)}"${name}"`;
  return `${written} is a subtraction (${written.replace(/-/g, " - ")}), not a name with hyphens: write ${meant}`;
}
