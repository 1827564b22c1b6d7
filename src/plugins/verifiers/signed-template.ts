import { isHeaderName } from "../../config/header-name.js";
/** One piece of a compiled `signed` template. */
export type TemplatePart = { kind: "literal"; text: string } | { kind: "body" } | { kind: "timestamp" } | { kind: "header"; name: string };

const PLACEHOLDER = /\{([^{}]*)\}/g;
const HELP = "use {body}, {timestamp} or {header:Name}";

/**
 * Compiles the generic hmac scheme's `signed` template (`{timestamp}.{body}`) once, at load, so
 * that a typo is a config error rather than every request failing.
 */
export function compileSignedTemplate(template: string, hasTimestamp: boolean): TemplatePart[] {
  const parts: TemplatePart[] = [];
  const literal = (text: string): void => {
    if (/[{}]/.test(text)) throw new Error(`signed: unbalanced brace in "${template}" (${HELP})`);
    if (text !== "") parts.push({ kind: "literal", text });
  };
  let last = 0;
  for (const m of template.matchAll(PLACEHOLDER)) {
    literal(template.slice(last, m.index));
    last = m.index + m[0].length;
    const name = m[1] ?? "";
    const header = name.startsWith("header:") ? name.slice("header:".length) : undefined;
    if (name === "body") parts.push({ kind: "body" });
    else if (name === "timestamp" && hasTimestamp) parts.push({ kind: "timestamp" });
    else if (name === "timestamp") throw new Error("signed: {timestamp} needs timestamp_header");
    else if (header !== undefined && isHeaderName(header)) parts.push({ kind: "header", name: header.toLowerCase() });
    else throw new Error(`signed: unknown placeholder {${name}} in "${template}" (${HELP})`);
  }
  literal(template.slice(last));
  // A signature that does not cover the body would let anyone replace the body.
  if (!parts.some((p) => p.kind === "body")) throw new Error(`signed: "${template}" must include {body}`);
  return parts;
}

/** The byte pieces to feed the HMAC. An absent header counts as empty (the sender signed what it sent). */
export function renderSignedTemplate(
  parts: readonly TemplatePart[],
  body: Buffer,
  timestamp: string,
  header: (name: string) => string | undefined,
): (Buffer | string)[] {
  return parts.map((p) => {
    if (p.kind === "literal") return p.text;
    if (p.kind === "body") return body;
    if (p.kind === "timestamp") return timestamp;
    return header(p.name) ?? "";
  });
}
