import { Type } from "@sinclair/typebox";

/**
 * The `url` option of URL-signed schemes: the address the provider calls, which is what it signs
 * and which a reverse proxy or tunnel hides from us (we see `/hooks/x` on 127.0.0.1).
 */
export function publicUrlOption(provider: string) {
  return Type.String({
    pattern: "^https?://[^\\s]+$",
    description: `the URL ${provider} calls, exactly as configured there (scheme, host, path and any query string), since a proxy changes what Switchyard sees`,
  });
}

const PARTS = /^(https?:\/\/)([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d+)?(.*)$/i;

/**
 * The URL with and without its default port: some clients and proxies add `:443`, and the
 * provider signs what it used (Twilio's own validator tries both the same way).
 */
export function withAndWithoutPort(url: string): string[] {
  const m = PARTS.exec(url);
  if (!m) return [url];
  const [, scheme = "", user = "", host = "", port = "", rest = ""] = m;
  const standard = scheme.toLowerCase() === "https://" ? ":443" : ":80";
  const bare = scheme + user + host + rest;
  const withPort = scheme + user + host + (port || standard) + rest;
  return port && port !== standard ? [url] : [bare, withPort];
}
