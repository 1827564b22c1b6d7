import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, runCli, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * A route's `methods`, `content_type` and the `client` its filter sees: the parts of a request a
 * sender such as an adnanh/webhook user's scripts gets wrong or relies on.
 */

const SLOW = 120_000;

/** Fails its first run (so the retry reads the event back from the store), then records its argv. */
const SECOND_TIME = `#!${process.execPath}
const fs = require("node:fs");
const path = require("node:path");
const marker = path.join(__dirname, "tried-" + process.env.SWITCHYARD_EVENT_ID);
if (!fs.existsSync(marker)) { fs.writeFileSync(marker, ""); process.exit(1); }
fs.writeFileSync(path.join(__dirname, "argv-" + process.env.SWITCHYARD_EVENT_ID + ".json"), JSON.stringify(process.argv.slice(2)));
`;

describe("route request shape", () => {
  const { track } = cleanupAfterEach();

  it(
    "takes the methods it names, parses the body as content_type also when a retry reads it back, and filters on client",
    async () => {
      const dir = tempDir("switchyard-shape-");
      writeFileSync(join(dir, "second-time.cjs"), SECOND_TIME);
      chmodSync(join(dir, "second-time.cjs"), 0o755);
      const config = writeConfig(
        dir,
        `server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: form
    path: /hooks/form
    methods: [POST, PUT, GET]
    content_type: application/x-www-form-urlencoded
    verify: { type: none }
    filter: $inRange(client, ["127.0.0.0/8", "::1"]) and body.go = "yes" or query.go = "yes"
    targets:
      - name: run
        type: exec
        command: [./second-time.cjs]
        args: [body.who, query.who, method]
        retry: { attempts: 3, backoff: 100ms, max_backoff: 200ms }
  - name: elsewhere
    path: /hooks/elsewhere
    verify: { type: none }
    filter: $inRange(client, "10.0.0.0/8")
    targets:
      - { name: run, type: exec, command: [./second-time.cjs] }
`,
      );
      const daemon = track(await startDaemon(config));
      const argvOf = async (id: unknown) => {
        const file = join(dir, `argv-${String(id)}.json`);
        // The script may have created the file and not yet written it: wait for whole JSON.
        return waitFor(
          () => {
            if (!existsSync(file)) return undefined;
            try {
              return JSON.parse(readFileSync(file, "utf8")) as string[];
            } catch {
              return undefined;
            }
          },
          "the retried run",
          30_000,
        );
      };

      // Sent as JSON by its Content-Type, read as a form: the filter and the retried run agree.
      const put = await fetch(`${daemon.url}/hooks/form`, {
        method: "PUT",
        body: "go=yes&who=ana",
        headers: { "content-type": "application/json" },
      });
      expect(put.status).toBe(202);
      expect(await argvOf(((await put.json()) as { id: string }).id)).toEqual(["ana", "", "PUT"]);

      const get = await fetch(`${daemon.url}/hooks/form?go=yes&who=bo`);
      expect(get.status).toBe(202);
      expect(await argvOf(((await get.json()) as { id: string }).id)).toEqual(["", "bo", "GET"]);

      const del = await fetch(`${daemon.url}/hooks/form`, { method: "DELETE" });
      expect(del.status).toBe(405);
      expect(del.headers.get("allow")).toBe("POST, PUT, GET");
      // A route without methods takes POST only, as before.
      expect((await fetch(`${daemon.url}/hooks/elsewhere`, { method: "PUT", body: "{}" })).status).toBe(405);

      // The filter sees the client's address: loopback is not in 10.0.0.0/8.
      const elsewhere = await fetch(`${daemon.url}/hooks/elsewhere`, {
        method: "POST",
        body: "{}",
        headers: { "content-type": "application/json" },
      });
      expect(elsewhere.status).toBe(200);
      expect(await elsewhere.json()).toEqual({ status: "ignored" });

      // The dry run: no client unless told, then the filter judges the address given.
      writeFileSync(join(dir, "body.json"), "{}");
      const dry = async (...extra: string[]) => {
        const r = await runCli(["test", "elsewhere", "--body", join(dir, "body.json"), "--json", "-c", config, ...extra]);
        return { code: r.code, report: r.stdout ? (JSON.parse(r.stdout) as { answer: number }) : undefined, stderr: r.stderr };
      };
      expect((await dry()).report?.answer).toBe(200);
      expect((await dry("--client", "10.2.3.4")).report?.answer).toBe(202);
      expect((await dry("--client", "192.0.2.1")).report?.answer).toBe(200);
      const bad = await dry("--client", "ten");
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("is not an IPv4 or IPv6 address");
    },
    SLOW,
  );
});
