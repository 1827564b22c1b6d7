import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { createSecureContext } from "node:tls";

/** `server.tls` as the listener takes it: the PEM files' contents, read at load and on every reload. */
export interface TlsSettings {
  certFile: string;
  keyFile: string;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads and checks the certificate and key (a pair that does not match, or a file that is not
 * PEM, is a config error `check` reports rather than a listener that fails its first handshake).
 * Returns the problems by key otherwise.
 */
export function readTls(
  tls: { cert_file: string; key_file: string },
  dir: string,
): { ok: true; settings: TlsSettings } | { ok: false; problems: { key: "cert_file" | "key_file"; message: string }[] } {
  const certFile = resolve(dir, tls.cert_file);
  const keyFile = resolve(dir, tls.key_file);
  const problems: { key: "cert_file" | "key_file"; message: string }[] = [];
  const read = (file: string, key: "cert_file" | "key_file") => {
    try {
      return readFileSync(file);
    } catch (err) {
      problems.push({ key, message: `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` });
      return undefined;
    }
  };
  const cert = read(certFile, "cert_file");
  const key = read(keyFile, "key_file");
  if (!cert || !key) return { ok: false, problems };
  try {
    createSecureContext({ cert, key });
  } catch (err) {
    // OpenSSL's words (key values mismatch, no start line): they name the problem, never the key.
    return {
      ok: false,
      problems: [
        { key: "cert_file", message: `${certFile} and ${keyFile} are not a usable certificate and key: ${(err as Error).message}` },
      ],
    };
  }
  return { ok: true, settings: { certFile, keyFile, cert, key } };
}
