import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";

const log = pino({ level: "silent" });
const RELAYS = `relays:
  - { name: edge, url: "https://edge.example.com/relay/home", token: "relay-token-0123456789" }
`;
const route = (extra: string) => `routes:
  - name: deploy
    path: /hooks/deploy
    verify: { type: none }
${extra}
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;
const warningsOf = (text: string) =>
  compileConfig(parseConfig(`server: { listen: 127.0.0.1:8080 }\n${text}`, join(tmpdir(), "switchyard.yaml"), {}), { log }).warnings;

describe("check on a home instance that pulls from a relay", () => {
  it("warns at the place of a filter or dedupe id that reads client, which a relayed event does not have", () => {
    const warnings = warningsOf(
      `${RELAYS}${route(`    filter: '$inRange(client, ["192.30.252.0/22"])'\n    dedupe: { id: 'client & body.id' }`)}`,
    );
    for (const place of ["routes[0].filter", "routes[0].dedupe.id"]) {
      expect(warnings).toContainEqual(
        expect.objectContaining({
          place,
          severity: "warning",
          message: expect.stringMatching(/^reads client, which an event pulled from a relay/),
        }),
      );
    }
  });

  it("says nothing without relays, or for body.client and other names", () => {
    expect(warningsOf(route(`    filter: '$inRange(client, ["10.0.0.0/8"])'`)).filter((w) => w.message.includes("relay"))).toEqual([]);
    expect(
      warningsOf(`${RELAYS}${route(`    filter: 'body.client = "acme" and clientId = 3 and headers."x-client" = "a"'`)}`).filter((w) =>
        w.message.includes("relay"),
      ),
    ).toEqual([]);
  });
});
