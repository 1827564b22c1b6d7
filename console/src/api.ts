/**
 * The console's only way to the daemon: same-origin fetches of /api/v1, with the admin token
 * from sessionStorage as `Authorization: Bearer` (never a cookie, so no other site can ride on
 * it). A 401 asks the page for the token once, then the call is tried again.
 */

const TOKEN_KEY = "switchyard.adminToken";

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Asks the user for the token; `refused` when the one given before was refused. */
type TokenAsker = (refused: boolean) => Promise<string>;

export interface Api {
  get<T>(path: string, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  /** A streaming GET (server-sent events) with the same token handling. */
  open(path: string, signal: AbortSignal): Promise<Response>;
}

export function createApi(askToken: TokenAsker): Api {
  const token = () => sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  // One question at a time: pages that load several endpoints at once ask once.
  let asking: Promise<string> | undefined;
  const ask = (refused: boolean) => {
    asking ??= askToken(refused).finally(() => {
      asking = undefined;
    });
    return asking;
  };

  async function send(path: string, init: RequestInit): Promise<Response> {
    for (;;) {
      const headers = new Headers(init.headers);
      const sent = token();
      if (sent) headers.set("Authorization", `Bearer ${sent}`);
      const res = await fetch(`/api/v1${path}`, { ...init, headers, credentials: "omit", cache: "no-store" });
      if (res.status !== 401) return res;
      // Another request may have been given a new token meanwhile: try that one before asking.
      if (token() !== sent) continue;
      sessionStorage.setItem(TOKEN_KEY, await ask(sent !== undefined));
    }
  }

  async function json<T>(res: Response): Promise<T> {
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      throw new ApiError(res.status, `the daemon answered ${res.status} with something that is not JSON`);
    }
    if (!res.ok) {
      const message = (parsed as { error?: unknown } | undefined)?.error;
      throw new ApiError(res.status, typeof message === "string" ? message : `the daemon answered ${res.status}`);
    }
    return parsed as T;
  }

  return {
    get: async (path, signal) => json(await send(path, signal ? { signal } : {})),
    post: async (path, body) =>
      json(await send(path, { method: "POST", body: JSON.stringify(body), headers: { "Content-Type": "application/json" } })),
    open: async (path, signal) => {
      const res = await send(path, { signal, headers: { Accept: "text/event-stream" } });
      if (!res.ok) throw new ApiError(res.status, `the live tail answered ${res.status}`);
      return res;
    },
  };
}

/** Query string from the set fields only. */
export function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
}
