import { get } from "node:https";

/**
 * GETs an HTTPS URL with a deadline and a size bound, following no redirect (a redirect could
 * lead off the trusted host). Resolves with the status and body; rejects on any network error.
 * TLS is checked against the system's CAs (and NODE_EXTRA_CA_CERTS).
 */
export function httpsGet(url: URL, limits: { timeoutMs: number; maxBytes: number }): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { timeout: limits.timeoutMs, headers: { "user-agent": "switchyard" } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        size += chunk.length;
        if (size > limits.maxBytes) {
          req.destroy(new Error(`the answer is larger than ${limits.maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${limits.timeoutMs} ms`)));
    req.on("error", reject);
  });
}
