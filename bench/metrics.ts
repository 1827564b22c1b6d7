/** One sample's value from Switchyard's Prometheus text (admin routes are on listen for a loopback config). */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(\{(.*)\})? (.+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = new Map([...(m[3] ?? "").matchAll(/([a-z_]+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => got.get(k) === v)) return Number(m[4]);
  }
  return undefined;
}

export async function readMetric(base: string, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const res = await fetch(`${base}/metrics`);
  return metricValue(await res.text(), name, labels);
}
