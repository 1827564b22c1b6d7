import { createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import type { CompiledConfig, CompiledRoute } from "../config/compile.js";
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
  if (route.on)
    throw new UserError(`${routeName} is an on route: it receives Switchyard's own events, not requests, so there is nothing to sign`);
  const body = readBodyFile(options.body);
  const signed = signedCurl(config, route, body, HeaderLines.parse(options.header ?? []), {
    url: options.url,
    privateKey: options.privateKey,
    // The file as is when signing leaves the body alone (inline when it changed: shared-secret, linear).
    bodyFile: options.body === "-" ? undefined : options.body,
  });
  for (const [name, value] of signed.headers) print(`${name}: ${value}`);
  print("");
  print(signed.curl);
  return 0;
}

/**
 * The headers of a request the route accepts and a curl line that sends it: `switchyard sign`
 * prints them, the console's event detail offers the line to copy. The request carries what the
 * provider always sends (its event and delivery id headers, a JSON Content-Type), because a
 * route filter on the event header would otherwise ignore it; `extra` replaces or adds headers;
 * the signature is made last, over what is sent, and always wins.
 */
export function signedCurl(
  config: CompiledConfig,
  route: CompiledRoute,
  body: Buffer,
  extra: Readonly<Record<string, string>>,
  opts: { url?: string; bodyFile?: string; query?: Readonly<Record<string, string>>; privateKey?: string } = {},
): { headers: [string, string][]; curl: string } {
  const now = Date.now();
  const headers = new HeaderLines();
  // curl's -d/--data-binary would otherwise send a form content type, which the body is not.
  if (isJson(body)) headers.set({ "Content-Type": "application/json" });
  headers.set(route.verifier.providerHeaders?.(body, now) ?? {});
  headers.set(extra);
  const signed = signForRoute(route, body, now, headers.lowerCased(), opts.privateKey);
  headers.set(signed.headers);

  const listen = config.server.listen;
  const host =
    listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const base = (opts.url ?? `http://${host}:${listen.port}`).replace(/\/+$/, "");
  const params = new URLSearchParams({ ...opts.query, ...signed.query }).toString();
  const query = params ? `?${params}` : "";
  const headerArgs = headers.entries().map(([n, v]) => `-H ${shellQuote(`${n}: ${v}`)}`);
  const bodyArg =
    signed.body.equals(body) && opts.bodyFile !== undefined
      ? `--data-binary @${shellQuote(opts.bodyFile)}`
      : `--data-binary ${shellQuote(signed.body.toString("utf8"))}`;
  return {
    headers: headers.entries(),
    curl: `curl -sS -X POST ${shellQuote(base + route.path + query)} ${headerArgs.join(" ")} ${bodyArg}`,
  };
}
