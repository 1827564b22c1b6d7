import { describe, expect, it } from "vitest";
import { createAjv } from "../../../src/config/marks.js";
import { findTarget, targets } from "../../../src/plugins/targets/index.js";

// The same options as the config loader: a schema ajv's strict mode refuses would break every load.
const ajv = createAjv();

function valid(block: Record<string, unknown>): boolean {
  const plugin = findTarget(String(block.type));
  if (!plugin) throw new Error(`no target ${String(block.type)}`);
  return ajv.validate(plugin.schema, block);
}

describe("target registry", () => {
  it("lists http, exec, relay and the brokers, with their defaults", () => {
    expect(targets.map((t) => [t.type, t.defaultTimeoutMs, t.defaultConcurrency])).toEqual([
      ["http", 10_000, 4],
      ["exec", 300_000, 1],
      ["relay", 60_000, 1],
      ["mqtt", 10_000, 16],
      ["nats", 10_000, 16],
      ["amqp", 10_000, 16],
    ]);
    expect(findTarget("smtp")).toBeUndefined();
  });

  it("accepts the contract's examples", () => {
    expect(
      valid({
        name: "notify",
        type: "http",
        url: "http://ntfy.lan/deploys",
        method: "POST",
        headers: { Authorization: "Bearer x" },
        filter: 'body.ref = "refs/heads/main"',
        transform: '{ "text": "push" }',
        timeout: "10s",
        retry: { attempts: 8, backoff: "1s", max_backoff: "10m" },
        concurrency: 4,
        follow_redirects: false,
      }),
    ).toBe(true);
    expect(
      valid({
        name: "deploy",
        type: "exec",
        command: ["/usr/local/bin/deploy.sh", "--pull"],
        args: ["body.repository.full_name", "body.after"],
        env: { GIT_REF: "body.ref" },
        cwd: "./work",
        coalesce: true,
        timeout: "5m",
        concurrency: 1,
        retry: { attempts: 3, backoff: "5s" },
      }),
    ).toBe(true);
  });

  it.each([
    [{ name: "n", type: "http", url: "http://x", methd: "POST" }],
    [{ name: "n", type: "http", url: "http://x", method: "HEAD" }],
    [{ name: "n", type: "http", url: "http://x", headers: { "Bad Name": "v" } }],
    [{ name: "n", type: "http", url: "http://x", headers: { A: 1 } }],
    [{ name: "n", type: "exec", command: [] }],
    [{ name: "n", type: "exec", command: "/bin/deploy.sh --pull" }],
    [{ name: "n", type: "exec", command: ["x"], env: { "GIT-REF": "body.ref" } }],
    [{ name: "n", type: "exec", command: ["x"], shell: true }],
  ])("refuses %j", (block) => {
    expect(valid(block)).toBe(false);
  });
});
