import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Type } from "@sinclair/typebox";
import { ExpressionField } from "../../../config/marks.js";
import type { ReceivedEvent } from "../../../pipeline/event.js";
import type { Expression } from "../../../pipeline/expression.js";
import { TEMP_FOLDER_PREFIX } from "./sweep-temp-folders.js";

/** An env name: what the command reads the file's path from. */
export const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

/** The `files` option of an exec target: env name → JSONata, or `{ value, base64 }`. */
export const filesOption = Type.Record(
  Type.String({ pattern: ENV_NAME_PATTERN }),
  Type.Union([
    ExpressionField(),
    Type.Object(
      {
        value: ExpressionField({ description: "JSONata: what the file holds" }),
        base64: Type.Optional(Type.Boolean({ default: false, description: "the value is base64 and the file holds the decoded bytes" })),
      },
      { additionalProperties: false },
    ),
  ]),
  {
    additionalProperties: false,
    description:
      "name → JSONata (or `{ value: <JSONata>, base64: true }` for binary content): each value is written to a file of its own, " +
      "mode 0600 in a private temporary folder, and the variable `name` holds its path; the folder is removed when the run ends, " +
      "whatever its outcome, and what a daemon killed mid-run left there (`switchyard-files-<pid>-…` in `$TMPDIR`) is removed by the next start " +
      "once that daemon is no longer running (adnanh/webhook's `pass-file-to-command`)",
  },
);

export interface CompiledFile {
  name: string;
  value: Expression;
  base64: boolean;
}

type FilesOption = Record<string, string | { value: string; base64?: boolean }>;

export function compileFiles(option: FilesOption | undefined, compile: (source: string, at: string) => Expression): CompiledFile[] {
  return Object.entries(option ?? {}).map(([name, spec]) =>
    typeof spec === "string"
      ? { name, value: compile(spec, `files.${name}`), base64: false }
      : { name, value: compile(spec.value, `files.${name}.value`), base64: spec.base64 === true },
  );
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The bytes of each file for one event. Throws on a value that says it is base64 and is not:
 * the command would otherwise get a file it cannot use, every retry alike.
 */
export async function renderFiles(
  files: readonly CompiledFile[],
  event: ReceivedEvent,
  stringify: (value: unknown) => string,
): Promise<Map<string, Buffer>> {
  const out = new Map<string, Buffer>();
  for (const f of files) {
    const text = stringify(await f.value.evaluate(event));
    if (!f.base64) {
      out.set(f.name, Buffer.from(text, "utf8"));
      continue;
    }
    const compact = text.replace(/\s+/g, "");
    if (!BASE64.test(compact) || compact.length % 4 === 1) throw new Error(`files.${f.name}: the value is not valid base64`);
    out.set(f.name, Buffer.from(compact, "base64"));
  }
  return out;
}

/**
 * Runs `use` with the files written to a fresh private folder (mkdtemp makes it 0700; the files
 * are 0600, created exclusively), handing it name → path; removes the folder afterwards, also
 * when `use` throws, so no payload stays on disk after its run.
 */
export async function withTempFiles<T>(
  contents: ReadonlyMap<string, Buffer>,
  use: (paths: Record<string, string>) => Promise<T>,
): Promise<T> {
  if (contents.size === 0) return use({});
  // The daemon's pid in the name lets its next start remove what a crash left (sweepTempFolders).
  const dir = await mkdtemp(join(tmpdir(), `${TEMP_FOLDER_PREFIX}${process.pid}-`));
  try {
    const paths: Record<string, string> = {};
    for (const [name, bytes] of contents) {
      const path = join(dir, name);
      await writeFile(path, bytes, { mode: 0o600, flag: "wx" });
      paths[name] = path;
    }
    return await use(paths);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
