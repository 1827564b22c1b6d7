/** Hash routing (`#/events?route=github`): the daemon serves one index.html, no fallback needed. */

export interface Route {
  path: string;
  params: URLSearchParams;
}

export function currentRoute(): Route {
  const hash = location.hash.startsWith("#/") ? location.hash.slice(1) : "/";
  const q = hash.indexOf("?");
  return q < 0 ? { path: hash, params: new URLSearchParams() } : { path: hash.slice(0, q), params: new URLSearchParams(hash.slice(q + 1)) };
}

/** Changes the address without adding to history when only filters change. */
export function setParams(path: string, params: Record<string, string | undefined>): void {
  // A page's late effect must not take the address back from the page the user went on to.
  if (currentRoute().path !== path) return;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  const next = `#${path}${s ? `?${s}` : ""}`;
  if (location.hash !== next) history.replaceState(null, "", next);
}

export function eventHref(id: string): string {
  return `#/events/${encodeURIComponent(id)}`;
}
