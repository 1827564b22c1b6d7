import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";

const log = pino({ level: "silent" });
const routes = `
routes:
  - { name: r, path: /r, verify: { type: token, secret: "0123456789abcdef" }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`;
const warningsOf = (server: string, env: Record<string, string> = {}) =>
  compileConfig(parseConfig(`server: ${server}\n${routes}`, join(tmpdir(), "switchyard.yaml"), env), { log, env }).warnings;

describe("check's warning about the console on a reachable admin address", () => {
  it("names server.admin when it is not loopback and no admin_token is set", () => {
    const warnings = warningsOf("{ listen: 0.0.0.0:8080, admin: 0.0.0.0:9090 }");
    expect(warnings).toContainEqual(
      expect.objectContaining({
        place: "server.admin",
        message:
          "without admin_token, anyone who can reach 0.0.0.0:9090 can read every stored webhook in the console and its API (replays are refused): set server.admin_token",
      }),
    );
  });

  it("says nothing with a token, or on loopback", () => {
    const token = { ADMIN_TOKEN: "admin-token-0123456789" };
    for (const [server, env] of [
      ['{ listen: 0.0.0.0:8080, admin: 0.0.0.0:9090, admin_token: "${ADMIN_TOKEN}" }', token],
      ["{ listen: 0.0.0.0:8080, admin: 127.0.0.1:9090 }", {}],
      ["{ listen: 127.0.0.1:8080 }", {}],
    ] as const) {
      expect(
        warningsOf(server, env).filter((w) => w.message.includes("admin_token")),
        server,
      ).toEqual([]);
    }
  });
});
