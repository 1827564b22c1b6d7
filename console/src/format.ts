/** Plain-text formatting; everything here returns strings that Preact renders as text. */

export function time(value: string | number | undefined | null): string {
  if (value === undefined || value === null || value === "") return "—";
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return String(value);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function ago(value: string | number | undefined | null, now = Date.now()): string {
  if (value === undefined || value === null) return "";
  const ms = now - new Date(value).getTime();
  if (!Number.isFinite(ms)) return "";
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86_400)}d ago`;
}

export function duration(seconds: number | undefined | null): string {
  if (seconds === undefined || seconds === null || !Number.isFinite(seconds)) return "—";
  const s = Math.floor(seconds);
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  if (m) return `${m}m ${s % 60}s`;
  return `${s}s`;
}

export function ms(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "—";
  return value >= 1000 ? `${(value / 1000).toFixed(value >= 10_000 ? 0 : 1)} s` : `${Math.round(value)} ms`;
}

export function num(value: number | undefined | null): string {
  return value === undefined || value === null || !Number.isFinite(value) ? "—" : value.toLocaleString("en");
}

export function percent(value: number | undefined | null): string {
  if (value === undefined || value === null || !Number.isFinite(value)) return "—";
  // Either a ratio (0..1) or already a percentage.
  const p = value <= 1 ? value * 100 : value;
  return `${p >= 99.95 || p === 0 ? p.toFixed(0) : p.toFixed(1)} %`;
}

/** JSON pretty-printed when the body is JSON (parsed or text), the raw text otherwise. */
export function prettyBody(body: unknown): { text: string; json: boolean } {
  if (body === undefined || body === null) return { text: "", json: false };
  if (typeof body === "string") {
    try {
      return { text: JSON.stringify(JSON.parse(body), null, 2), json: true };
    } catch {
      return { text: body, json: false };
    }
  }
  return { text: JSON.stringify(body, null, 2), json: true };
}
