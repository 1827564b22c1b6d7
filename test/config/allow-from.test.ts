import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileAllowFrom, parseCidr } from "../../src/config/allow-from.js";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError, type ConfigIssue } from "../../src/errors.js";
import { clientAddress } from "../../src/server/client-address.js";

const log = pino({ level: "silent" });

function compile(text: string) {
  return compileConfig(parseConfig(text, join(tmpdir(), "switchyard.yaml"), {}), { log });
}

function issuesOf(text: string): ConfigIssue[] {
  try {
    compile(text);
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
}

const route = (name: string, allow: string) => `
  - name: ${name}
    path: /hooks/${name}
    allow_from: ${allow}
    verify: { type: token, secret: t0ken }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/x" }]`;

describe("allow_from", () => {
  it("names each bad entry at its place and line, IPv4 and IPv6", () => {
    const text = `routes:${route("a", "[10.0.0.0/8]")}${route("b", "[192.168.1.0/24, fd00::/129]")}${route("c", `[10.0.0.0/8, "10.0.0.0/33", nonsense, "1.2.3/8"]`)}\n`;
    const issues = issuesOf(text);
    expect(issues.map((i) => i.place)).toEqual([
      "routes[1].allow_from[1]",
      "routes[2].allow_from[1]",
      "routes[2].allow_from[2]",
      "routes[2].allow_from[3]",
    ]);
    expect(issues[0]).toMatchObject({ line: 9, message: expect.stringMatching(/from 0 to 128/) });
    expect(issues[1]?.message).toMatch(/from 0 to 32/);
    expect(issues[2]?.message).toMatch(/"nonsense" is not an IPv4 or IPv6 address/);
  });

  it("refuses an empty list and a non-string entry in the schema", () => {
    expect(issuesOf(`routes:${route("a", "[]")}\n`).map((i) => i.place)).toEqual(["routes[0].allow_from"]);
    expect(issuesOf(`routes:${route("a", "[{}]")}\n`).map((i) => i.place)).toEqual(["routes[0].allow_from[0]"]);
  });

  it("matches addresses and ranges of both families, IPv4-mapped IPv6 either way", () => {
    const list = compileAllowFrom(["10.0.0.0/8", "192.168.1.20", "fd00::/8", "::ffff:172.16.0.0/108"], () => {
      throw new Error("valid");
    });
    expect(list).toBeDefined();
    const allows = (a: string) => list?.allows(a);
    expect([allows("10.255.0.1"), allows("::ffff:10.0.0.1"), allows("192.168.1.20"), allows("fd12::1"), allows("172.16.3.4")]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
    expect([allows("11.0.0.1"), allows("192.168.1.21"), allows("fe80::1"), allows("172.32.0.1"), allows(""), allows("not-an-ip")]).toEqual([
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
  });

  it("takes a bare address as a range of one, and /0 as everything", () => {
    expect(parseCidr("10.0.0.5")).toEqual({ address: "10.0.0.5", prefix: 32, family: "ipv4" });
    expect(parseCidr("::1")).toEqual({ address: "::1", prefix: 128, family: "ipv6" });
    expect(compileAllowFrom(["0.0.0.0/0"], () => {})?.allows("203.0.113.9")).toBe(true);
  });

  it("compiles trust_proxy, default 0, and refuses a negative one", () => {
    expect(compile(`routes:${route("a", "[10.0.0.0/8]")}\n`).server.trustProxy).toBe(0);
    expect(compile(`server: { trust_proxy: 2 }\nroutes:${route("a", "[10.0.0.0/8]")}\n`).server.trustProxy).toBe(2);
    expect(issuesOf(`server: { trust_proxy: -1 }\nroutes:${route("a", "[10.0.0.0/8]")}\n`).map((i) => i.place)).toEqual([
      "server.trust_proxy",
    ]);
  });
});

describe("the client address", () => {
  it("is the peer's when no proxy is trusted, whatever X-Forwarded-For says", () => {
    expect(clientAddress("192.0.2.1", "10.0.0.1", 0)).toBe("192.0.2.1");
  });
  it("is the entry that many hops back, counted from the right", () => {
    expect(clientAddress("127.0.0.1", "10.9.9.9, 198.51.100.7", 1)).toBe("198.51.100.7");
    expect(clientAddress("127.0.0.1", "10.9.9.9, 198.51.100.7", 2)).toBe("10.9.9.9");
    expect(clientAddress("127.0.0.1", "10.9.9.9,198.51.100.7", 1)).toBe("198.51.100.7");
  });
  it("is the leftmost entry when there are fewer than the hops, and the peer without the header", () => {
    expect(clientAddress("127.0.0.1", "198.51.100.7", 3)).toBe("198.51.100.7");
    expect(clientAddress("127.0.0.1", undefined, 1)).toBe("127.0.0.1");
    expect(clientAddress("127.0.0.1", "", 1)).toBe("127.0.0.1");
  });
});
