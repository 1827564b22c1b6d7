import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../../../src/config/compile.js";
import { parseConfig } from "../../../../src/config/load.js";
import { ConfigError } from "../../../../src/errors.js";

/** What `check` says about a broker target's URL and forward, the same way for the three of them. */
const CONFIG = `store: { path: ./sy.db }
routes:
  - name: r
    path: /r
    verify: { type: none }
    targets:
      - { name: a, type: mqtt, url: "http://user:secret@broker.lan/", topic: t, forward: raw, transform: "body" }
      - { name: b, type: amqp, url: "not a url", routing_key: k }
      - { name: c, type: nats, url: "ftp://broker.lan", subject: s, forward: raw, transform: "body" }
`;

describe("broker targets' options", () => {
  it("names a wrong scheme, an unparsable URL (credentials hidden) and a transform beside forward: raw, each at its place", () => {
    let error: unknown;
    try {
      compileConfig(parseConfig(CONFIG, join(tmpdir(), "switchyard.yaml"), {}), { log: pino({ level: "silent" }) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues.map((i) => `${i.place}: ${i.message}`);
    expect(issues).toEqual(
      expect.arrayContaining([
        "routes[0].targets[0].url: must start with mqtt://, mqtts://, ws:// or wss://, not http://",
        "routes[0].targets[0].transform: cannot be used with forward: raw, which sends the body as received: remove one of them",
        'routes[0].targets[1].url: is not a valid URL: "(an invalid URL)"',
        "routes[0].targets[2].url: must start with nats:// or tls://, not ftp://",
        "routes[0].targets[2].transform: cannot be used with forward: raw, which sends the body as received: remove one of them",
      ]),
    );
    expect(issues.join("\n")).not.toContain("secret");
  });
});
