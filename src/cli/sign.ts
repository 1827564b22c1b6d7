import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { CompiledRoute } from "../config/compile.js";
import { UserError } from "../errors.js";
import type { SignedRequest } from "../plugins/verifiers/verifier.js";
import { findRoute, loadForCli, print } from "./common.js";
import { HeaderLines } from "./header-lines.js";
import { shellQuote } from "./shell-quote.js";

export function readBodyFile(file: string): Buffer {
  try {
    return file === "-" ? readFileSync(0) : readFileSync(file);
  } catch (err) {
    throw new UserError(`cannot read the body file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

function isJson(body: Buffer): boolean {
  try {
    JSON.parse(body.toString("utf8"));
    return true;
  } catch {
    return false;
  }
}

export interface SignOptions {
  config?: string;
  body: string;
  url?: string;
  header?: string[];
  privateKey?: string;
}

/** `--private-key FILE`: a PEM private key, for schemes that verify with the provider's public key. */
export function readPrivateKey(file: string): KeyObject {
  let text: Buffer;
  try {
    text = readFileSync(file);
  } catch (err) {
    throw new UserError(`cannot read the private key file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  try {
    return createPrivateKey(text);
  } catch (err) {
    throw new UserError(`${file} is not a PEM private key: ${(err as Error).message}`);
  }
}

/**
 * Signs as the route's scheme does, with `--private-key` for public-key schemes; what a scheme
 * needs to sign (that key, a JSON body) is the user's to give, so its absence is a UserError.
 */
export function signForRoute(
  route: CompiledRoute,
  body: Buffer,
  now: number,
  headers: Readonly<Record<string, string>>,
  privateKeyFile: string | undefined,
): SignedRequest {
  const keys = privateKeyFile === undefined ? {} : { privateKey: readPrivateKey(privateKeyFile) };
  try {
    return route.verifier.sign(body, now, headers, keys);
  } catch (err) {
    throw new UserError(`cannot sign for route ${route.name}: ${(err as Error).message}`);
  }
}

/**
 * `switchyard sign`: the headers of a request the route accepts, and a curl line that sends it.
 * The request carries what the provider always sends (its event and delivery id headers, a JSON
 * Content-Type), because a route filter on the event header would otherwise ignore it; `-H`
 * replaces or adds headers; the signature is made last, over what is sent, and always wins.
 */
export function sign(routeName: string, options: SignOptions): number {
  const config = loadForCli(options.config);
  const route = findRoute(config, routeName);
  const body = readBodyFile(options.body);
  const now = Date.now();
  const headers = new HeaderLines();
  // curl's -d/--data-binary would otherwise send a form content type, which the body is not.
  if (isJson(body)) headers.set({ "Content-Type": "application/json" });
  headers.set(route.verifier.providerHeaders?.(body, now) ?? {});
  headers.set(HeaderLines.parse(options.header ?? []));
  const signed = signForRoute(route, body, now, headers.lowerCased(), options.privateKey);
  headers.set(signed.headers);
  for (const [name, value] of headers.entries()) print(`${name}: ${value}`);

  const listen = config.server.listen;
  const host =
    listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const base = (options.url ?? `http://${host}:${listen.port}`).replace(/\/+$/, "");
  const query = signed.query ? `?${new URLSearchParams(signed.query).toString()}` : "";
  const headerArgs = headers.entries().map(([n, v]) => `-H ${shellQuote(`${n}: ${v}`)}`);
  // The file as is when signing left the body alone; inline when it changed (shared-secret, linear).
  const bodyArg =
    signed.body.equals(body) && options.body !== "-"
      ? `--data-binary @${shellQuote(options.body)}`
      : `--data-binary ${shellQuote(signed.body.toString("utf8"))}`;
  print("");
  print(`curl -sS -X POST ${shellQuote(base + route.path + query)} ${headerArgs.join(" ")} ${bodyArg}`);
  return 0;
}
