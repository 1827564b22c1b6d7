import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Type } from "@sinclair/typebox";
import type { OptionProblem } from "../target.js";

/** TLS files every broker target takes: a private CA, and a client certificate for brokers that ask for one. */
export const tlsProperties = {
  ca_file: Type.Optional(
    Type.String({
      minLength: 1,
      description: "PEM CA certificate(s) that sign the broker's certificate (TLS URLs), relative to the config file",
    }),
  ),
  cert_file: Type.Optional(Type.String({ minLength: 1, description: "PEM client certificate, with `key_file`" })),
  key_file: Type.Optional(Type.String({ minLength: 1, description: "PEM private key of `cert_file`" })),
};

export interface TlsFiles {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
}

function readOne(path: string | undefined, field: string, dir: string, problems: OptionProblem[]): Buffer | undefined {
  if (path === undefined) return undefined;
  const file = resolve(dir, path);
  try {
    return readFileSync(file);
  } catch (err) {
    problems.push({ field, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
    return undefined;
  }
}

/** Read at load, so that `check` names a missing file before the first delivery fails on it. */
export function readTls(o: { ca_file?: string; cert_file?: string; key_file?: string }, dir: string, problems: OptionProblem[]): TlsFiles {
  if ((o.cert_file === undefined) !== (o.key_file === undefined))
    problems.push({ field: o.cert_file === undefined ? "cert_file" : "key_file", message: "cert_file and key_file go together" });
  const files: TlsFiles = {};
  const ca = readOne(o.ca_file, "ca_file", dir, problems);
  const cert = readOne(o.cert_file, "cert_file", dir, problems);
  const key = readOne(o.key_file, "key_file", dir, problems);
  if (ca) files.ca = ca;
  if (cert && key) {
    files.cert = cert;
    files.key = key;
  }
  return files;
}

/**
 * The contents of the files a broker target read (TLS files, a NATS creds file), hashed for
 * `Target.filesDigest`: the paths in the options stay the same when the files are rotated.
 */
export function digestFiles(contents: readonly (Uint8Array | undefined)[]): string {
  const hash = createHash("sha256");
  // Each file's length first: two files' bytes cannot be split differently into the same digest.
  for (const c of contents) hash.update(c === undefined ? "-\u0000" : `${c.length}\u0000`).update(c ?? new Uint8Array());
  return hash.digest("hex");
}
