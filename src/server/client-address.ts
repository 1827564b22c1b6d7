/**
 * The address a request comes from: the peer's, or with `server.trust_proxy: N` (N proxies of
 * the user's own in front of the listener) the address N hops back in X-Forwarded-For: each
 * proxy appends the address it got the request from, so the Nth entry from the right is the
 * one the nearest trusted proxy can vouch for; entries left of it are the client's to write.
 * With fewer entries than hops the leftmost is taken, as Express does.
 */
export function clientAddress(peer: string | undefined, forwardedFor: string | undefined, trustProxy: number): string {
  const hops = [
    peer ?? "",
    ...(forwardedFor ?? "")
      .split(",")
      .map((a) => a.trim())
      .filter((a) => a !== "")
      .reverse(),
  ];
  return hops[Math.min(trustProxy, hops.length - 1)] ?? "";
}
