import { chmodSync, existsSync, writeFileSync } from "node:fs";
import { basename } from "node:path";
import { Document, isMap, isSeq } from "yaml";
import { type ConvertedHook, convertHook } from "./convert-hook.js";
import { HooksFileError, readHooksFile } from "./hooks-file.js";

/**
 * `switchyard import webhook HOOKS -o FILE`: an adnanh/webhook hooks file as a Switchyard config,
 * in the hooks' order, each route headed by a comment naming its hook. Exit 0 when every hook
 * converted exactly, 1 when something is listed on stderr as not converted (the config is still
 * written and valid), 2 when the hooks file cannot be used (nothing is written).
 */

export const IMPORT_EXACT = 0;
export const IMPORT_WITH_WARNINGS = 1;
export const IMPORT_UNUSABLE = 2;

export interface ImportOptions {
  output?: string;
  urlPrefix?: string;
  template?: boolean;
  force?: boolean;
}

function header(file: string, hooks: number): string {
  return [
    ` Converted from the adnanh/webhook hooks file ${basename(file)} (${hooks} hook${hooks === 1 ? "" : "s"}) by switchyard import webhook.`,
    " What changes: every request a route takes is stored durably before it is answered",
    ' (202 {"status":"accepted"}, where webhook answered 200; answer options become respond), and its command',
    " runs from that queue: retried when it fails (exit code not 0), resumed after a restart, at most",
    " `concurrency: 1` at a time per command target (webhook started one per request, with no limit),",
    " stopped after `timeout: 5m`. Add `concurrency:`, `timeout:` or `retry:` to a target to change that.",
    " A route takes POST only unless `methods` says otherwise (webhook took every method).",
    " Before serving: switchyard check -c <this file>",
  ].join("\n");
}

export function importWebhook(file: string, o: ImportOptions): number {
  let hooks: Record<string, unknown>[];
  let notes: string[];
  try {
    ({ hooks, notes } = readHooksFile(file, o.template === true));
  } catch (err) {
    if (!(err instanceof HooksFileError)) throw err;
    process.stderr.write(`switchyard import webhook: ${err.message}\n`);
    return IMPORT_UNUSABLE;
  }
  if (o.output !== undefined && existsSync(o.output) && !o.force) {
    process.stderr.write(`switchyard import webhook: ${o.output} exists; pass --force to replace it\n`);
    return IMPORT_UNUSABLE;
  }
  const taken = new Set<string>();
  const converted: ConvertedHook[] = hooks.map((h) => convertHook(h, { urlPrefix: o.urlPrefix ?? "hooks", env: process.env, taken }));
  const routes = converted.filter((c) => c.route !== undefined);

  const doc = new Document({
    // webhook's default port; the admin listener (metrics, health, console) stays on loopback.
    server: { listen: "0.0.0.0:9000", admin: "127.0.0.1:9090" },
    store: { type: "sqlite", path: "./data/switchyard.db" },
    routes: routes.map((c) => c.route),
  });
  doc.commentBefore = header(file, hooks.length);
  const seq = doc.get("routes", true);
  if (isSeq(seq)) {
    seq.items.forEach((item, i) => {
      const c = routes[i];
      if (!c || !isMap(item)) return;
      const said = c.problems.length === 0 ? "" : ` (not converted exactly: ${c.problems.length}, listed by the importer)`;
      item.commentBefore = ` hook ${JSON.stringify(c.id)}${said}`;
    });
  }
  const text = doc.toString({ lineWidth: 0 });
  if (o.output === undefined) process.stdout.write(text);
  else {
    // The config can hold secrets and tokens read from the hooks file: readable by its owner
    // only, and never written over a file that appeared since the check above unless --force.
    try {
      writeFileSync(o.output, text, { mode: 0o600, flag: o.force ? "w" : "wx" });
      // A replaced file keeps its old mode: narrow it too.
      if (o.force) chmodSync(o.output, 0o600);
    } catch (err) {
      process.stderr.write(
        `switchyard import webhook: cannot write ${o.output}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}\n`,
      );
      return IMPORT_UNUSABLE;
    }
  }

  let count = 0;
  for (const n of notes) {
    process.stderr.write(`warning: ${n}\n`);
    count++;
  }
  for (const c of converted) {
    for (const p of c.problems) {
      process.stderr.write(`warning: hook ${JSON.stringify(c.id)}: ${p}\n`);
      count++;
    }
  }
  const where = o.output === undefined ? "" : ` into ${o.output}`;
  process.stderr.write(
    `converted ${routes.length} of ${hooks.length} hook${hooks.length === 1 ? "" : "s"}${where}; ${count === 0 ? "everything converted exactly" : `${count} warning${count === 1 ? "" : "s"}`}\n`,
  );
  return count === 0 ? IMPORT_EXACT : IMPORT_WITH_WARNINGS;
}
