import { verifiers } from "../plugins/verifiers/index.js";
import { SECRET_KEYS, type VerifierPlugin } from "../plugins/verifiers/verifier.js";
import { print } from "./common.js";

/** One option of a scheme, as `schemes --json` lists it. */
export interface SchemeOption {
  name: string;
  required: boolean;
  default?: unknown;
  description: string;
}

export interface SchemeListing {
  type: string;
  description: string;
  /** What `dedupe: true` uses, or "" when the scheme has none. */
  deliveryId: string;
  /** True when the scheme takes exactly one of `secret`, `secrets`, `secret_file`. */
  secret: boolean;
  options: SchemeOption[];
}

/** Markdown → terminal text: the code marks go, the words stay. */
function plain(markdown: string): string {
  return markdown.replace(/`/g, "").replace(/\[([^\]]+)\]\([^)]+\)/g, "$1");
}

/** A scheme's entry, from its schema: the same source as the README's table. */
export function schemeListing(plugin: VerifierPlugin): SchemeListing {
  const required = new Set<string>(plugin.schema.required ?? []);
  const properties = Object.entries(plugin.schema.properties ?? {}) as [string, { description?: string; default?: unknown }][];
  const options = properties
    .filter(([name]) => name !== "type" && !SECRET_KEYS.includes(name))
    .map(([name, node]) => ({
      name,
      required: required.has(name),
      ...(node.default === undefined ? {} : { default: node.default }),
      description: plain(node.description ?? ""),
    }));
  return {
    type: plugin.type,
    description: plain(plugin.description),
    deliveryId: plain(plugin.deliveryId),
    secret: plugin.needsSecret,
    options,
  };
}

function optionText(o: SchemeOption): string {
  if (o.required) return `${o.name} (required)`;
  return o.default === undefined ? o.name : `${o.name} (default ${String(o.default)})`;
}

/**
 * `switchyard schemes`: every `verify.type` with its options and what it checks, from the
 * registry, so that what it prints is what `check` accepts.
 */
export function schemes(options: { json?: boolean }): number {
  const listings = verifiers.map(schemeListing);
  if (options.json) {
    print(JSON.stringify(listings, null, 2));
    return 0;
  }
  const width = Math.max(...listings.map((l) => l.type.length)) + 2;
  const indent = " ".repeat(width);
  for (const l of listings) {
    print(`${l.type.padEnd(width)}${l.description}`);
    const keys = [...(l.secret ? ["secret | secrets | secret_file"] : []), ...l.options.map(optionText)];
    print(`${indent}options: ${keys.length > 0 ? keys.join(", ") : "none"}`);
    if (l.deliveryId) print(`${indent}dedupe id: ${l.deliveryId}`);
  }
  print("");
  print("Use one as verify.type in a route; README.md's Verification schemes section explains each option.");
  return 0;
}
