import { useCallback, useEffect, useState } from "preact/hooks";
import { useApi } from "./context.js";

export interface Loaded<T> {
  data: T | undefined;
  error: string | undefined;
  loading: boolean;
  reload: () => void;
}

/** GET an API path; reloads when the path changes, or every `everyMs` while the page is shown. */
export function useGet<T>(path: string | undefined, everyMs?: number): Loaded<T> {
  const api = useApi();
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    if (!path) return;
    const abort = new AbortController();
    setState((s) => ({ ...s, loading: true }));
    api.get<T>(path, abort.signal).then(
      (data) => setState({ data, loading: false }),
      (e: unknown) => {
        if (!abort.signal.aborted) setState((s) => ({ ...s, error: e instanceof Error ? e.message : String(e), loading: false }));
      },
    );
    return () => abort.abort();
  }, [api, path, tick]);
  useEffect(() => {
    if (!everyMs) return;
    const t = setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, everyMs);
    return () => clearInterval(t);
  }, [everyMs, reload]);
  return { data: state.data, error: state.error, loading: state.loading, reload };
}
