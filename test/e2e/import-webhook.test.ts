import { createHmac } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { cleanupAfterEach, runCli, startDaemon, tempDir, waitFor } from "./harness.js";

/**
 * `switchyard import webhook`: adnanh/webhook hooks files of our own, modelled on its documented
 * examples, converted by the built CLI, checked with `switchyard check`, then served: a small
 * script stands in for the hook's command and writes down the argv, environment and file
 * contents it was given, which must be what adnanh/webhook would have given it.
 */

const FIXTURES = resolve(import.meta.dirname, "../fixtures/adnanh-webhook");
const SLOW = 120_000;
const SECRET = "hook-secret";
const OLD = "old-secret";
const NEW = "new-secret";

/** Writes what it was run with to dumps/<event id>.json beside itself. */
const DUMP = `#!${process.execPath}
const fs = require("node:fs");
const path = require("node:path");
const files = {};
for (const [name, value] of Object.entries(process.env)) {
  if (!/switchyard-files-/.test(value)) continue;
  const st = fs.statSync(value);
  files[name] = { path: value, content: fs.readFileSync(value).toString("base64"), mode: st.mode & 0o777 };
}
const out = path.join(__dirname, "dumps");
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, process.env.SWITCHYARD_EVENT_ID + ".json"), JSON.stringify({ argv: process.argv.slice(2), env: process.env, files, cwd: process.cwd() }));
// What a hook with include-command-output-in-response answers; a payload asking for it fails.
process.stdout.write("ran " + process.env.SWITCHYARD_EVENT_ID + "\\n");
if (process.argv.includes("fail")) process.exit(3);
`;

interface Dump {
  argv: string[];
  env: Record<string, string>;
  files: Record<string, { path: string; content: string; mode: number }>;
  cwd: string;
}

function setup() {
  const dir = tempDir("switchyard-import-");
  const dump = join(dir, "dump.cjs");
  writeFileSync(dump, DUMP);
  chmodSync(dump, 0o755);
  const work = join(dir, "work");
  mkdirSync(work);
  const env = {
    DUMP: dump,
    WORKDIR: work,
    HOOK_SECRET: SECRET,
    OLD_SECRET: OLD,
    NEW_SECRET: NEW,
    SWITCHYARD_LISTEN: "127.0.0.1:0",
    SWITCHYARD_ADMIN: "127.0.0.1:0",
  };
  return { dir, work, env };
}

const hmacHex = (algorithm: string, secret: string, body: string) => createHmac(algorithm, secret).update(body).digest("hex");

async function send(url: string, init: RequestInit): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

async function dumpOf(dir: string, id: unknown): Promise<Dump> {
  const file = join(dir, "dumps", `${String(id)}.json`);
  await waitFor(() => existsSync(file), `the command to run for event ${String(id)}`, 30_000);
  return JSON.parse(readFileSync(file, "utf8")) as Dump;
}

/** The one dump that `match` picks, whichever event it came from. */
async function dumpWhere(dir: string, what: string, match: (d: Dump) => boolean): Promise<Dump> {
  const folder = join(dir, "dumps");
  const pick = () =>
    (existsSync(folder) ? readdirSync(folder) : []).map((f) => JSON.parse(readFileSync(join(folder, f), "utf8")) as Dump).find(match);
  await waitFor(() => pick() !== undefined, what, 30_000);
  return pick() as Dump;
}

const text = (b64: string | undefined) => Buffer.from(b64 ?? "", "base64").toString("utf8");

describe("switchyard import webhook", () => {
  const { track } = cleanupAfterEach();

  it(
    "converts every rule type and parameter source exactly: same argv, env and files, check passes, exit 0",
    async () => {
      const { dir, work, env } = setup();
      const out = join(dir, "switchyard.yaml");
      const imported = await runCli(["import", "webhook", join(FIXTURES, "exact.json.tmpl"), "-o", out], env);
      expect(imported.stderr).toContain("converted 4 of 4 hooks");
      expect(imported.stderr).toContain("everything converted exactly");
      expect(imported.code).toBe(0);
      const config = readFileSync(out, "utf8");
      // The hooks' order, each route named after its hook; template getenv kept as ${VAR}.
      expect([...config.matchAll(/# hook "([^"]+)"/g)].map((m) => m[1])).toEqual(["deploy", "ops/restart", "nightly", "rotating"]);
      expect(config).toContain("secret: ${HOOK_SECRET}");
      expect(config).not.toContain(SECRET);
      expect(config).toContain("concurrency: 1");

      const checked = await runCli(["check", "-c", out], env);
      expect(checked.stdout).toContain("ok (4 routes, 4 targets)");
      expect(checked.code).toBe(0);

      const daemon = track(await startDaemon(out, env));

      // and[signature, value, regex]; several signatures in the header, the second one right.
      const push = JSON.stringify({
        ref: "refs/heads/main",
        head_commit: { id: "c0ffee", message: "fix" },
        commits: [{ id: "aaa" }, { id: "bbb" }],
        pusher: { name: "ana" },
        logo: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]).toString("base64"),
      });
      const signatures = `sha256=${hmacHex("sha256", "wrong", push)},sha256=${hmacHex("sha256", SECRET, push)}`;
      const headers = { "content-type": "application/json", "x-signature": signatures, "x-event": "push" };
      const accepted = await send(`${daemon.url}/hooks/deploy?branch=main`, { method: "PUT", body: push, headers });
      expect(accepted).toMatchObject({ status: 202, json: { status: "accepted" } });
      const d = await dumpOf(dir, accepted.json.id);
      expect(d.argv).toEqual(["c0ffee", "bbb", "push", "main", "PUT", "--now", '{"id":"c0ffee","message":"fix"}', ""]);
      expect(d.env).toMatchObject({ PUSHER: "ana", HOOK_branch: "main", QUERY_JSON: '{"branch":"main"}' });
      expect(JSON.parse(d.env.HEADERS_JSON ?? "{}")).toMatchObject({ "X-Event": "push", "Content-Type": "application/json" });
      expect(text(d.files.COMMIT_FILE?.content)).toBe('{"id":"c0ffee","message":"fix"}');
      expect([...Buffer.from(d.files.HOOK_LOGO?.content ?? "", "base64")]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff]);
      for (const f of Object.values(d.files)) {
        expect(f.mode).toBe(0o600);
        // Removed once the run is over.
        await waitFor(() => !existsSync(f.path), "the temporary file to be removed");
      }

      // The value rule says no: ignored; a bad signature: 401; a method the hook does not take: 405.
      const other = push.replace("refs/heads/main", "refs/heads/dev");
      const sig = (body: string) => `sha256=${hmacHex("sha256", SECRET, body)}`;
      expect(
        await send(`${daemon.url}/hooks/deploy`, { method: "POST", body: other, headers: { ...headers, "x-signature": sig(other) } }),
      ).toMatchObject({ status: 200, json: { status: "ignored" } });
      expect(
        await send(`${daemon.url}/hooks/deploy`, {
          method: "POST",
          body: push,
          headers: { ...headers, "x-event": "fork", "x-signature": sig(push) },
        }),
      ).toMatchObject({ status: 200, json: { status: "ignored" } });
      expect(
        (await send(`${daemon.url}/hooks/deploy`, { method: "POST", body: push, headers: { ...headers, "x-signature": sig("x") } })).status,
      ).toBe(401);
      expect((await fetch(`${daemon.url}/hooks/deploy`, { method: "GET" })).status).toBe(405);

      // or / not / ip-whitelist over a JSON text inside a form body sent with the wrong Content-Type.
      const form = (data: unknown) => `data=${encodeURIComponent(JSON.stringify(data))}`;
      const opsInit = (data: unknown) => ({ method: "POST", body: form(data), headers: { "content-type": "text/plain" } });
      const ops = await send(`${daemon.url}/hooks/ops/restart`, opsInit({ service: "web", hosts: ["h1", "h2"], env: "staging" }));
      expect(ops).toMatchObject({ status: 202 });
      expect((await dumpOf(dir, ops.json.id)).argv).toEqual(["web", "h1"]);
      expect(await send(`${daemon.url}/hooks/ops/restart`, opsInit({ service: "web", hosts: [], env: "PROD" }))).toMatchObject({
        status: 200,
        json: { status: "ignored" },
      });

      // A signature in a query parameter; a JSON array payload read as adnanh/webhook's root.0.
      const list = JSON.stringify([{ name: "first" }, { name: "second" }]);
      const sigQuery = encodeURIComponent(`sha1=${hmacHex("sha1", SECRET, list)}`);
      const nightly = await send(`${daemon.url}/hooks/nightly?sig=${sigQuery}`, {
        method: "POST",
        body: list,
        headers: { "content-type": "application/json" },
      });
      expect(nightly).toMatchObject({ status: 202 });
      const n = await dumpOf(dir, nightly.json.id);
      expect(n.argv).toEqual(["first"]);
      expect(n.cwd).toBe(work);
      expect((await send(`${daemon.url}/hooks/nightly`, { method: "POST", body: list })).status).toBe(401);

      // or of two signatures with soft failures: either secret, as while rotating it.
      for (const secret of [OLD, NEW]) {
        const body = JSON.stringify({ rotated: secret });
        const rotated = await send(`${daemon.url}/hooks/rotating`, {
          method: "POST",
          body,
          headers: { "content-type": "application/json", "x-hub-signature-512": `sha512=${hmacHex("sha512", secret, body)}` },
        });
        expect(rotated).toMatchObject({ status: 202 });
        expect((await dumpOf(dir, rotated.json.id)).argv).toEqual([]);
      }
    },
    SLOW,
  );

  it(
    "lists what it cannot convert per hook id, exits 1, and the output still passes check and runs",
    async () => {
      const { dir, env } = setup();
      const out = join(dir, "switchyard.yaml");
      const imported = await runCli(["import", "webhook", join(FIXTURES, "lossy.yaml"), "-o", out], env);
      expect(imported.code).toBe(1);
      const lines = imported.stderr.split("\n");
      const about = (id: string, what: string) => lines.some((l) => l.startsWith(`warning: hook "${id}": `) && l.includes(what));
      // Its answer options are converted; what differs from webhook's answer is said.
      expect(about("notify", "include-command-output-in-response: the answer is the command's stdout")).toBe(true);
      expect(about("notify", "response-message: webhook does not send it with include-command-output-in-response")).toBe(true);
      expect(lines.some((l) => l.includes("not converted yet"))).toBe(false);
      expect(about("notify", "timeout: not an adnanh/webhook hook option")).toBe(true);
      expect(about("notify", 'request "remote-addr"')).toBe(true);
      expect(about("notify", "entire-payload")).toBe(true);
      expect(about("notify", "raw-request-body")).toBe(true);
      expect(about("notify", "HOOK_user_name")).toBe(true);
      expect(about("guarded", "payload-hmac-sha1")).toBe(true);
      expect(about("guarded", "refuses every request")).toBe(true);
      expect(about("no-command", "no execute-command")).toBe(true);
      expect(imported.stderr).toContain("converted 2 of 3 hooks");

      const checked = await runCli(["check", "-c", out], env);
      expect(checked.code).toBe(0);

      const daemon = track(await startDaemon(out, env));
      const body = '{"action":"go","user":{"name":"bo"}}';
      // include-command-output-in-response: the command's output is the answer, with the hook's
      // success code and response-headers, as webhook answered.
      const notify = await fetch(`${daemon.url}/hooks/notify`, { method: "POST", body, headers: { "content-type": "application/json" } });
      expect(notify.status).toBe(201);
      expect(notify.headers.get("x-handled-by")).toBe("webhook");
      expect(notify.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      const ran = /^ran (\S+)\n$/.exec(await notify.text());
      expect(ran).not.toBeNull();
      const d = await dumpOf(dir, ran?.[1]);
      expect(d.argv).toEqual([body, body, ""]);
      expect(d.env.HOOK_user_name).toBe("bo");
      // The signature it could not check: nothing gets through, signed or not.
      expect(
        await send(`${daemon.url}/hooks/guarded`, { method: "POST", body, headers: { "content-type": "application/json" } }),
      ).toMatchObject({
        status: 200,
        json: { status: "ignored" },
      });
    },
    SLOW,
  );

  it(
    "answers as webhook did: response-message, response-headers and the success code; the mismatch code; the command's output, and its fixed text when the command fails",
    async () => {
      const { dir, env } = setup();
      const out = join(dir, "switchyard.yaml");
      const imported = await runCli(["import", "webhook", join(FIXTURES, "answers.json.tmpl"), "-o", out], env);
      // Only the output's stderr part differs from webhook, and that is said.
      expect(imported.stderr).toMatch(/warning: hook "build": include-command-output-in-response: the answer is the command's stdout/);
      expect(imported.stderr).not.toMatch(/warning: hook "hello"/);
      expect(imported.code).toBe(1);
      expect((await runCli(["check", "-c", out], env)).code).toBe(0);
      const daemon = track(await startDaemon(out, env));
      const post = (path: string, payload: unknown) =>
        fetch(`${daemon.url}${path}`, { method: "POST", body: JSON.stringify(payload), headers: { "content-type": "application/json" } });

      const hello = await post("/hooks/hello", { action: "go" });
      expect(hello.status).toBe(201);
      expect(hello.headers.get("access-control-allow-origin")).toBe("*");
      expect(await hello.text()).toBe('Hello, "world"');
      const refused = await post("/hooks/hello", { action: "stop" });
      expect(refused.status).toBe(418);
      expect(await refused.text()).toBe("Hook rules were not satisfied.");

      const built = await post("/hooks/build", { mode: "fast" });
      expect(built.status).toBe(200);
      const ran = /^ran (\S+)\n$/.exec(await built.text());
      expect(ran).not.toBeNull();
      expect((await dumpOf(dir, ran?.[1])).argv).toEqual(["fast"]);
      const failed = await post("/hooks/build", { mode: "fail" });
      expect(failed.status).toBe(500);
      expect(await failed.text()).toBe("Error occurred while executing the hook's command. Please check your logs for more details.");
    },
    SLOW,
  );

  it(
    "exits 2 and writes nothing for a file it cannot use",
    async () => {
      const dir = tempDir("switchyard-import-");
      const out = join(dir, "out.yaml");
      writeFileSync(join(dir, "broken.json"), '[{"id": "a", ');
      writeFileSync(join(dir, "twice.json"), '[{"id": "a", "execute-command": "/bin/true"}, {"id": "a", "execute-command": "/bin/true"}]');
      writeFileSync(join(dir, "object.json"), '{"id": "a"}');
      writeFileSync(join(dir, "go.tmpl"), '[{"id": "{{ .Name }}", "execute-command": "/bin/true"}]');
      for (const [file, said] of [
        ["missing.json", "cannot read"],
        ["broken.json", "neither JSON nor YAML"],
        ["twice.json", "appears twice"],
        ["object.json", "a list of hooks"],
        ["go.tmpl", "template action {{ .Name }}"],
      ] as const) {
        const r = await runCli(["import", "webhook", join(dir, file), "-o", out]);
        expect(r.stderr).toContain(said);
        expect(r.code).toBe(2);
        expect(readdirSync(dir)).not.toContain("out.yaml");
      }
      // An existing output is kept unless --force.
      writeFileSync(out, "mine\n");
      writeFileSync(join(dir, "ok.json"), '[{"id": "a", "execute-command": "/bin/true"}]');
      expect((await runCli(["import", "webhook", join(dir, "ok.json"), "-o", out])).code).toBe(2);
      expect(readFileSync(out, "utf8")).toBe("mine\n");
      chmodSync(out, 0o644);
      const forced = await runCli(["import", "webhook", join(dir, "ok.json"), "-o", out, "--force", "--url-prefix", "api/v1"]);
      expect(forced.code).toBe(0);
      expect(readFileSync(out, "utf8")).toContain("path: /api/v1/a");
      // It can hold secrets read from the hooks file: its owner's only, replaced or new.
      expect(statSync(out).mode & 0o777).toBe(0o600);
      const fresh = join(dir, "fresh.yaml");
      expect((await runCli(["import", "webhook", join(dir, "ok.json"), "-o", fresh])).code).toBe(0);
      expect(statSync(fresh).mode & 0o777).toBe(0o600);
    },
    SLOW,
  );

  it(
    "reads webhook's own template forms (getenv | js, | html), refuses under and/not what webhook refuses when a value is missing, and checks a token header in constant time",
    async () => {
      const { dir, work, env } = setup();
      const tokens = { ...env, XXXTEST_SECRET: SECRET, GITLAB_TOKEN: "gl-token-1", GREETING: "a<b & c" };
      const out = join(dir, "switchyard.yaml");
      const imported = await runCli(["import", "webhook", join(FIXTURES, "pipes-and-tokens.json.tmpl"), "-o", out], tokens);
      expect(imported.stderr).toContain("converted 3 of 3 hooks");
      expect(imported.stderr).toMatch(
        /warning: hook "gitlab": value match on header X-Gitlab-Token: checked as a shared token.*answered 401/,
      );
      expect(imported.stderr).toContain('warning: {{ getenv "GREETING" | html }}: webhook used the html-escaped value');
      expect(imported.stderr).toContain(
        'warning: hook "gitlab": pass-environment-to-command[1]: the token X-Gitlab-Token is checked by verify',
      );
      expect(imported.code).toBe(1);
      const config = readFileSync(out, "utf8");
      expect(statSync(out).mode & 0o777).toBe(0o600);
      // Secrets stay in the environment, not in the file.
      expect(config).toContain("secret: ${XXXTEST_SECRET}");
      expect(config).toContain("secret: ${GITLAB_TOKEN}");
      expect(config).not.toContain("gl-token-1");
      expect(config).not.toContain("@@switchyard");
      expect((await runCli(["check", "-c", out], tokens)).code).toBe(0);
      const daemon = track(await startDaemon(out, tokens));
      const json = { "content-type": "application/json" };

      // docs/Templates.md's own hook: {{ getenv "XXXTEST_SECRET" | js }} is the secret itself.
      const push = JSON.stringify({ ref: "refs/heads/master", head_commit: { id: "c0ffee" }, pusher: { name: "ana", email: "a@x" } });
      const docs = await fetch(`${daemon.url}/hooks/webhook`, {
        method: "POST",
        body: push,
        headers: { ...json, "x-hub-signature": `sha1=${hmacHex("sha1", SECRET, push)}` },
      });
      expect(docs.status).toBe(200);
      expect(docs.headers.get("access-control-allow-origin")).toBe("*");
      expect(await docs.text()).toBe("I got the payload!");
      const ran = await dumpWhere(dir, "the documented hook's command", (d) => d.argv[0] === "c0ffee");
      expect(ran.argv).toEqual(["c0ffee", "ana", "a@x"]);
      expect(ran.cwd).toBe(work);

      // and: [signature, not: regex on ref]: webhook refuses a signed body without ref (the
      // missing value is an error that and turns into false); so does the route.
      const signed256 = (body: string) => ({ ...json, "x-hub-signature-256": `sha256=${hmacHex("sha256", SECRET, body)}` });
      const noRef = JSON.stringify({ action: "opened" });
      expect(await send(`${daemon.url}/hooks/no-tags`, { method: "POST", body: noRef, headers: signed256(noRef) })).toMatchObject({
        status: 200,
        json: { status: "ignored" },
      });
      const tag = JSON.stringify({ ref: "refs/tags/v1" });
      expect(await send(`${daemon.url}/hooks/no-tags`, { method: "POST", body: tag, headers: signed256(tag) })).toMatchObject({
        status: 200,
        json: { status: "ignored" },
      });
      const branch = JSON.stringify({ ref: "refs/heads/dev" });
      const taken = await send(`${daemon.url}/hooks/no-tags`, { method: "POST", body: branch, headers: signed256(branch) });
      expect(taken).toMatchObject({ status: 202 });
      expect((await dumpOf(dir, taken.json.id)).argv).toEqual(["refs/heads/dev"]);

      // The token header is verify: a wrong or missing one is 401; the right one runs the
      // command, which (like the stored event) never sees the token; | html escaped the answer.
      const gitlab = (token?: string) =>
        fetch(`${daemon.url}/hooks/gitlab`, {
          method: "POST",
          body: '{"object_kind":"push"}',
          headers: { ...json, ...(token === undefined ? {} : { "x-gitlab-token": token }) },
        });
      expect((await gitlab("gl-token-2")).status).toBe(401);
      expect((await gitlab()).status).toBe(401);
      const ok = await gitlab("gl-token-1");
      expect(ok.status).toBe(200);
      expect(await ok.text()).toBe("a&lt;b &amp; c");
      const g = await dumpWhere(dir, "the gitlab hook's command", (d) => d.env.HEADERS_JSON !== undefined);
      expect(JSON.parse(g.env.HEADERS_JSON ?? "{}")).toMatchObject({ "Content-Type": "application/json" });
      expect(g.env.HEADERS_JSON).not.toMatch(/gitlab-token|gl-token-1/i);
      expect(g.env.TOKEN).toBe("");
    },
    SLOW,
  );

  it(
    'imports the shape of adnanh/webhook\'s own test hooks file, with {{ getenv "X" | js }} for its command',
    async () => {
      // test/hooks.json.tmpl from github.com/adnanh/webhook (MIT), its {{ .Hookecho }} replaced:
      // trailing commas, an and holding a bare "or": [...], tabs, numbers as values.
      const { dir, env } = setup();
      const out = join(dir, "switchyard.yaml");
      const imported = await runCli(["import", "webhook", join(FIXTURES, "upstream-test-hooks.json.tmpl"), "-o", out], env);
      expect(imported.stderr).toContain("converted 20 of 20 hooks");
      expect(imported.code).toBe(1);
      expect(imported.stderr).not.toContain("@@switchyard");
      expect(imported.stderr).toContain('execute-command "{{ getenv \\"DUMP\\" | js }} foo"');
      const config = readFileSync(out, "utf8");
      expect(config).not.toContain("@@switchyard");
      // github-multi-sig: or of two secrets with soft failures, either one.
      expect(config).toMatch(/secrets:\n\s+- mysecretFAIL\n\s+- mysecret\n/);
      const checked = await runCli(["check", "-c", out], env);
      expect(checked.stdout).toContain("ok (20 routes, 20 targets)");
      expect(checked.code).toBe(0);
    },
    SLOW,
  );
});
