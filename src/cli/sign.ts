import { readFileSync } from "node:fs";
import { UserError } from "../errors.js";
import { findRoute, loadForCli, print } from "./common.js";

/** Single-quotes a word for a POSIX shell. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function readBodyFile(file: string): Buffer {
  try {
    return file === "-" ? readFileSync(0) : readFileSync(file);
  } catch (err) {
    throw new UserError(`cannot read the body file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** `switchyard sign`: the headers that make a valid signed request for a route, and a curl line. */
export function sign(routeName: string, options: { config?: string; body: string; url?: string }): number {
  const config = loadForCli(options.config);
  const route = findRoute(config, routeName);
  const body = readBodyFile(options.body);
  const signed = route.verifier.sign(body, Date.now());
  for (const [name, value] of Object.entries(signed.headers)) print(`${name}: ${value}`);
  const listen = config.server.listen;
  const host =
    listen.host === "0.0.0.0" || listen.host === "::" ? "127.0.0.1" : listen.host.includes(":") ? `[${listen.host}]` : listen.host;
  const base = options.url ?? `http://${host}:${listen.port}`;
  const query = signed.query ? `?${new URLSearchParams(signed.query).toString()}` : "";
  const json = (() => {
    try {
      JSON.parse(signed.body.toString("utf8"));
      return true;
    } catch {
      return false;
    }
  })();
  const headerArgs = Object.entries(signed.headers).map(([n, v]) => `-H ${shellQuote(`${n}: ${v}`)}`);
  if (json && !Object.keys(signed.headers).some((h) => h.toLowerCase() === "content-type"))
    headerArgs.unshift(`-H 'Content-Type: application/json'`);
  // The file as is when signing left the body alone; inline when it changed (shared-secret).
  const bodyArg =
    signed.body.equals(body) && options.body !== "-"
      ? `--data-binary @${shellQuote(options.body)}`
      : `--data-binary ${shellQuote(signed.body.toString("utf8"))}`;
  print("");
  print(`curl -sS -X POST ${shellQuote(base + route.path + query)} ${headerArgs.join(" ")} ${bodyArg}`);
  return 0;
}
