import { generateKeyPairSync } from "node:crypto";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";

const log = pino({ level: "silent" });

describe("check's warning about open routes", () => {
  it("names `none` on a public listener, not the public-key schemes, which need no secret yet authenticate", () => {
    const key = Buffer.from(generateKeyPairSync("ed25519").publicKey.export({ format: "jwk" }).x ?? "", "base64url");
    const text = `
server: { listen: 0.0.0.0:8080, admin: 127.0.0.1:9090 }
routes:
  - { name: open, path: /open, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
  - name: discord
    path: /discord
    verify: { type: discord, public_key: "${key.toString("hex")}" }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: sns
    path: /sns
    verify: { type: aws-sns, topics: ["arn:aws:sns:*:123456789012:*"] }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;
    const compiled = compileConfig(parseConfig(text, join(tmpdir(), "switchyard.yaml"), {}), { log, env: {} });
    const open = compiled.warnings.filter((w) => w.message.includes("anyone who can reach"));
    expect(open.map((w) => w.message)).toEqual(["none: anyone who can reach 0.0.0.0:8080 can send events to /open"]);
  });

  it("refuses a public key that is not one at load, naming the place", () => {
    const text = `
server: { listen: 127.0.0.1:8080 }
routes:
  - name: sendgrid
    path: /sendgrid
    verify: { type: sendgrid, public_key: "bm90IGEga2V5" }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;
    expect(() => compileConfig(parseConfig(text, join(tmpdir(), "switchyard.yaml"), {}), { log, env: {} })).toThrow(
      /routes\[0\]\.verify.*P-256/s,
    );
  });
});
