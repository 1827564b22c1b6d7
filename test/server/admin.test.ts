import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileConfig, loadAndCompile } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { createAdminApp, createAdminRouter } from "../../src/server/admin.js";
import { tokenMatches } from "../../src/server/admin-token.js";
import { createListener } from "../../src/server/listener.js";
import { type Ingress, startIngress } from "./ingress-fixture.js";
import { rawRequest } from "./raw-http.js";

/**
 * The admin surface: loopback unless told otherwise, an optional bearer token for /metrics and
 * the status page (never for the orchestrators' probes), and answers that never echo the request.
 */

const log = pino({ level: "silent" });
const ADMIN_TOKEN = "admin-token-0123456789abcdef";
const MARKER = "zq7marker";

const compile = (yaml: string, env: NodeJS.ProcessEnv = {}) => compileConfig(parseConfig(yaml, "/tmp/switchyard-admin.yaml", env), { log });
const ROUTES = `
routes:
  - name: hook
    path: /hook
    verify: { type: token, secret: hook-token-secret }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;

async function get(port: number, path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { headers });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

describe("admin listener address", () => {
  it("defaults to loopback: listen is 127.0.0.1:8080 and admin is served there", () => {
    const config = compile(ROUTES);
    expect(config.server.listen).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(config.server.admin).toBeUndefined();
  });

  it("refuses a public listen without a separate admin address", () => {
    expect(() => compile(`server: { listen: 0.0.0.0:8080 }\n${ROUTES}`)).toThrow(ConfigError);
    expect(() => compile(`server: { listen: 0.0.0.0:8080 }\n${ROUTES}`)).toThrow(/admin is required when listen is not loopback/);
    expect(compile(`server: { listen: 0.0.0.0:8080, admin: 127.0.0.1:9090 }\n${ROUTES}`).server.admin).toEqual({
      host: "127.0.0.1",
      port: 9090,
    });
  });
});

describe("server.admin_token", () => {
  let ingress: Ingress;

  beforeAll(async () => {
    ingress = await startIngress(`server: { admin_token: "\${ADMIN_TOKEN}" }\n${ROUTES}`, { env: { ADMIN_TOKEN } });
  });
  afterAll(async () => {
    await ingress?.close();
  });

  it("is read from the environment and must be long enough to guess hard", () => {
    expect(ingress.config.server.adminToken).toBe(ADMIN_TOKEN);
    expect(() => compile(`server: { admin_token: short }\n${ROUTES}`)).toThrow(
      /server\.admin_token: must NOT have fewer than 16 characters/,
    );
  });

  it("guards /metrics and the console API: 401 without it, with a wrong one, or in the wrong scheme", async () => {
    for (const path of ["/metrics", "/api/v1/status", "/api/v1/events", "/api/v1/routes", "/api/v1/rejections", "/api/v1/dead-letters"]) {
      for (const headers of [
        {},
        { Authorization: "Bearer wrong-token-0123456789abcdef" },
        { Authorization: `Bearer ${ADMIN_TOKEN}x` },
        { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
        { Authorization: `Basic ${Buffer.from(`x:${ADMIN_TOKEN}`).toString("base64")}` },
        { Authorization: ADMIN_TOKEN },
      ]) {
        const res = await get(ingress.port, path, headers);
        expect(res.status, `${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get("www-authenticate")).toBe('Bearer realm="switchyard"');
        expect(res.text).toBe('{"error":"unauthorized"}');
      }
      const ok = await get(ingress.port, path, { Authorization: `Bearer ${ADMIN_TOKEN}` });
      expect(ok.status, path).toBe(200);
      expect((await get(ingress.port, path, { Authorization: `bearer  ${ADMIN_TOKEN}` })).status).toBe(200);
    }
    expect((await get(ingress.port, "/metrics", { Authorization: `Bearer ${ADMIN_TOKEN}` })).text).toContain(
      "switchyard_events_received_total",
    );
  });

  it("leaves /healthz and /readyz open for orchestrators", async () => {
    expect((await get(ingress.port, "/healthz")).status).toBe(200);
    expect((await get(ingress.port, "/readyz")).status).toBe(200);
  });

  it("written inline in a world-readable file, is warned about like an inline verify secret", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-admin-"));
    const file = join(dir, "switchyard.yaml");
    writeFileSync(file, `server: { admin_token: ${ADMIN_TOKEN} }\n${ROUTES.replace("hook-token-secret", '"${HOOK_TOKEN}"')}`);
    chmodSync(file, 0o644);
    const warnings = loadAndCompile(file, { log, env: { HOOK_TOKEN: "hook-token-secret" } }).warnings.map((w) => w.message);
    expect(warnings.join("\n")).toContain("holds secrets written inline (server.admin_token)");
    expect(warnings.join("\n")).not.toContain(ADMIN_TOKEN);
    rmSync(dir, { recursive: true, force: true });
  });

  it("compares whole tokens only", () => {
    expect(tokenMatches(ADMIN_TOKEN, `Bearer ${ADMIN_TOKEN}`)).toBe(true);
    expect(tokenMatches(ADMIN_TOKEN, undefined)).toBe(false);
    expect(tokenMatches(ADMIN_TOKEN, "")).toBe(false);
    expect(tokenMatches(ADMIN_TOKEN, "Bearer ")).toBe(false);
    expect(tokenMatches(ADMIN_TOKEN, `Bearer ${ADMIN_TOKEN} `)).toBe(true);
    expect(tokenMatches(ADMIN_TOKEN, `Bearer ${ADMIN_TOKEN}${ADMIN_TOKEN}`)).toBe(false);
  });
});

describe("answers never echo request data", () => {
  let ingress: Ingress;
  let adminPort: number;
  let closeAdmin: () => Promise<void>;

  beforeAll(async () => {
    ingress = await startIngress(ROUTES);
    // The separate admin listener, as the daemon builds it when server.admin is set.
    const router = createAdminRouter({ metrics: ingress.metrics, store: ingress.store, config: () => ingress.config, version: "test" });
    const server = createListener(createAdminApp(router).callback(), { limits: ingress.config.server, log, name: "admin" });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    adminPort = (server.address() as AddressInfo).port;
    closeAdmin = () =>
      new Promise((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
  });
  afterAll(async () => {
    await closeAdmin?.();
    await ingress?.close();
  });

  it("on the admin endpoints, the ingress, and every error answer", async () => {
    const requests = (path: string, method: string, body = "") =>
      [
        `${method} ${path}?${MARKER}=${MARKER}&q=${MARKER} HTTP/1.1`,
        "Host: 127.0.0.1",
        "Connection: close",
        `X-${MARKER}: ${MARKER}`,
        `User-Agent: ${MARKER}`,
        `Referer: http://${MARKER}.example/`,
        `Cookie: ${MARKER}=${MARKER}`,
        `Authorization: Bearer ${MARKER}`,
        "Content-Type: application/json",
        `Content-Length: ${Buffer.byteLength(body)}`,
        "",
        body,
      ].join("\r\n");
    const cases: [number, string, string, string?][] = [];
    for (const port of [ingress.port, adminPort]) {
      for (const path of [
        "/",
        "/metrics",
        "/healthz",
        "/readyz",
        `/${MARKER}`,
        `/metrics/${MARKER}`,
        "/api/v1/status",
        "/api/v1/events",
        `/api/v1/events/${MARKER}`,
        `/api/v1/events/${MARKER}/replay`,
        "/api/v1/rejections",
        `/api/v1/routes/${MARKER}/test`,
      ]) {
        cases.push([port, path, "GET"], [port, path, "POST", `{"${MARKER}":"${MARKER}"}`], [port, path, "DELETE"]);
      }
    }
    cases.push(
      [ingress.port, "/hook", "POST", `{"${MARKER}":"${MARKER}"}`], // 401
      [ingress.port, "/hook", "GET"], // 405
      [ingress.port, "/hook", "POST", `[${"[".repeat(300)}"${MARKER}"${"]".repeat(300)}]`], // 400
    );
    const statuses = new Set<number>();
    for (const [port, path, method, body] of cases) {
      const answer = await rawRequest(port, [Buffer.from(requests(path, method, body))]);
      statuses.add(answer.status);
      expect(answer.status, `${method} ${path}`).toBeGreaterThan(0);
      expect(`${answer.head}\n${answer.body}`.toLowerCase(), `${method} ${path} on ${port}`).not.toContain(MARKER);
    }
    expect([...statuses].sort()).toEqual([200, 400, 401, 404, 405]);
    const big = await rawRequest(ingress.port, [Buffer.from(requests("/hook", "POST", "x".repeat(2 * 1024 * 1024)))]);
    expect(`${big.head}\n${big.body}`.toLowerCase()).not.toContain(MARKER);
  });
});
