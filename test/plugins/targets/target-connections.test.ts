import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { afterAll, describe, expect, it } from "vitest";
import { compileConfig } from "../../../src/config/compile.js";
import { loadConfigFile } from "../../../src/config/load.js";
import { carryConnections } from "../../../src/plugins/targets/target-connections.js";

/**
 * What a reload keeps of the broker targets' connections: the files their options name are
 * read at load, so a reload after a rotated file must build a new target (a new connection)
 * even though the options, paths included, did not change. No broker needed: nothing connects.
 */
const log = pino({ level: "silent" });
const dir = mkdtempSync(join(tmpdir(), "switchyard-connections-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = join(dir, "switchyard.yaml");
writeFileSync(
  file,
  `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: events
    path: /events
    verify: { type: none }
    targets:
      - name: nats
        type: nats
        url: nats://127.0.0.1:4222
        subject: webhooks.events
        creds_file: ./user.creds
      - name: rabbit
        type: amqp
        url: amqps://guest:guest@127.0.0.1:5671
        routing_key: events
        ca_file: ./ca.pem
        cert_file: ./client.pem
        key_file: ./client.key
`,
);

function creds(jwt: string): string {
  return `-----BEGIN NATS USER JWT-----\n${jwt}\n------END NATS USER JWT------\n\n-----BEGIN USER NKEY SEED-----\nSUAIBDPBAUTWCWBKIO6XHQNINK5FWJW4OHLXC3HQ2KFE4PEJUA44CNHTC4\n------END USER NKEY SEED------\n`;
}

const load = () => {
  const loaded = loadConfigFile(file, {});
  expect(loaded.issues).toEqual([]);
  return compileConfig(loaded, { log });
};
const targetsOf = (c: ReturnType<typeof load>) => Object.fromEntries(c.routes[0]?.targets.map((t) => [t.name, t.target]) ?? []);

describe("a reload and the files broker targets read", () => {
  it("keeps both targets when nothing changed, and replaces just the one whose file was rotated", () => {
    writeFileSync(join(dir, "user.creds"), creds("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.first"));
    writeFileSync(join(dir, "ca.pem"), "-----BEGIN CERTIFICATE-----\nca\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "client.pem"), "-----BEGIN CERTIFICATE-----\nclient 2025\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "client.key"), "-----BEGIN PRIVATE KEY-----\nkey 2025\n-----END PRIVATE KEY-----\n");
    const first = load();
    const running = targetsOf(first);

    const same = load();
    expect(carryConnections(first, same)).toEqual([]);
    expect(targetsOf(same).nats).toBe(running.nats);
    expect(targetsOf(same).rabbit).toBe(running.rabbit);

    // A new user JWT in the creds file: the NATS target reconnects with it; the AMQP one stays.
    writeFileSync(join(dir, "user.creds"), creds("eyJ0eXAiOiJKV1QiLCJhbGciOiJlZDI1NTE5LW5rZXkifQ.second"));
    const newCreds = load();
    const dropped = carryConnections(same, newCreds);
    expect(dropped).toHaveLength(1);
    expect(dropped[0]).toBe(running.nats);
    expect(targetsOf(newCreds).nats).not.toBe(running.nats);
    expect(targetsOf(newCreds).rabbit).toBe(running.rabbit);

    // A renewed client certificate and key: the AMQP target is replaced.
    writeFileSync(join(dir, "client.pem"), "-----BEGIN CERTIFICATE-----\nclient 2026\n-----END CERTIFICATE-----\n");
    writeFileSync(join(dir, "client.key"), "-----BEGIN PRIVATE KEY-----\nkey 2026\n-----END PRIVATE KEY-----\n");
    const renewed = load();
    const replaced = carryConnections(newCreds, renewed);
    expect(replaced).toHaveLength(1);
    expect(replaced[0]).toBe(running.rabbit);
    expect(targetsOf(renewed).rabbit).not.toBe(running.rabbit);
  });
});
