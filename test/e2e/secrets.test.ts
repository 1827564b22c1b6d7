import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { githubSignature, stripeSignature } from "../server/signers.js";
import { post, type RunningDaemon, runCli, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * Every secret a config holds, hunted for everywhere Switchyard writes text: its logs, /metrics,
 * the status page, /readyz, `events`, `dlq list`, `check`, and the errors of broken configs. The
 * target answers 500 with our request headers echoed back, so delivery errors carry them.
 */

const SECRETS = {
  GH_SECRET: "gh-secret-3b0c6a1e9f",
  STRIPE_SECRET: "whsec_stripe-secret-77d1e2",
  HEADER_TOKEN: "header-token-5ac0e4f8b2",
  QUERY_TOKEN: "query-token-91b7c3d5e6",
  GITLAB_TOKEN: "gitlab-token-0f6e2d8a4c",
  MERAKI_SECRET: "meraki-secret-c4a9e1b7d3",
  TARGET_TOKEN: "target-token-2e8f0a6c4b",
  URL_PASSWORD: "url-password-6d4b2f8e0a",
  ADMIN_TOKEN: "admin-token-a1b2c3d4e5f6a7b8",
};

const CONFIG = `
server:
  listen: 127.0.0.1:0
  admin: 127.0.0.1:0
  admin_token: "\${ADMIN_TOKEN}"
store: { path: ./data/switchyard.db }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "\${GH_SECRET}" }
    targets: &targets
      - name: echo
        type: http
        url: "\${SINK_URL}/echo"
        headers: { Authorization: "Bearer \${TARGET_TOKEN}" }
        retry: { attempts: 2, backoff: 10ms }
      - name: basic
        type: http
        url: "http://robot:\${URL_PASSWORD}@\${SINK_HOST}/basic"
        retry: { attempts: 1 }
      - name: script
        type: exec
        # A script that prints its credential (its $0 here), its environment and its input.
        command: [/bin/sh, -c, "echo using $0; env >&2; cat >&2; exit 3", "\${TARGET_TOKEN}"]
        retry: { attempts: 1 }
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: "\${STRIPE_SECRET}" }
    targets: *targets
  - name: header-token
    path: /hooks/header-token
    verify: { type: token, header: X-Api-Key, secret: "\${HEADER_TOKEN}" }
    targets: *targets
  - name: query-token
    path: /hooks/query-token
    verify: { type: token, query: key, secret: "\${QUERY_TOKEN}" }
    targets: *targets
  - name: gitlab
    path: /hooks/gitlab
    verify: { type: gitlab, secret: "\${GITLAB_TOKEN}" }
    targets: *targets
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: "\${MERAKI_SECRET}" }
    targets: *targets
`;

/** Every place a secret could show up, with what it showed. */
type Exhibits = Record<string, string>;

function leaks(exhibits: Exhibits): string[] {
  const found: string[] = [];
  for (const [where, text] of Object.entries(exhibits)) {
    for (const [name, value] of Object.entries(SECRETS)) {
      // As is, and in the forms an echo or a header would carry it.
      const forms = [value, encodeURIComponent(value), Buffer.from(`robot:${value}`).toString("base64")];
      if (forms.some((f) => text.includes(f))) found.push(`${name} in ${where}`);
    }
  }
  return found;
}

describe("e2e: secrets never leak", () => {
  let dir: string;
  let sink: Sink;
  let daemon: RunningDaemon;
  let env: NodeJS.ProcessEnv;
  let config: string;
  const exhibits: Exhibits = {};
  const admin = { Authorization: `Bearer ${SECRETS.ADMIN_TOKEN}` };

  beforeAll(async () => {
    dir = tempDir("switchyard-secrets-");
    sink = await startSink();
    // A target that fails, and tells everything it was sent.
    sink.respond = (req, res) => {
      res
        .writeHead(500, { "Content-Type": "application/json" })
        .end(JSON.stringify({ headers: req.headers, url: req.url, body: req.body }));
    };
    env = { ...SECRETS, SINK_URL: sink.url, SINK_HOST: new URL(sink.url).host };
    config = writeConfig(dir, CONFIG);
    daemon = await startDaemon(config, env);
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  it("sends valid, invalid and malformed requests to every route, and lets every delivery fail", async () => {
    const url = daemon.url;
    const body = JSON.stringify({ id: "evt_1", ref: "refs/heads/main" });
    const bytes = Buffer.from(body);
    const merakiBody = JSON.stringify({ alertId: "a1", sharedSecret: SECRETS.MERAKI_SECRET });
    const t = Math.floor(Date.now() / 1000);
    const stripe = stripeSignature(SECRETS.STRIPE_SECRET, bytes, t);
    const valid: [string, Record<string, string>][] = [
      ["/hooks/github", { "X-Hub-Signature-256": githubSignature(SECRETS.GH_SECRET, bytes), "X-GitHub-Event": "push" }],
      ["/hooks/stripe", { "Stripe-Signature": `t=${stripe.t},v1=${stripe.v1}` }],
      ["/hooks/header-token", { "X-Api-Key": SECRETS.HEADER_TOKEN }],
      [`/hooks/query-token?key=${SECRETS.QUERY_TOKEN}`, {}],
      ["/hooks/gitlab", { "X-Gitlab-Token": SECRETS.GITLAB_TOKEN }],
    ];
    for (const [path, headers] of valid) expect((await post(`${url}${path}`, body, headers)).status, path).toBe(202);
    expect((await post(`${url}/hooks/meraki`, merakiBody)).status).toBe(202);

    // Wrong secrets, secrets in the wrong place, malformed signatures, secrets of other routes.
    const wrong = [
      ["/hooks/github", { "X-Hub-Signature-256": `sha256=${createHmac("sha256", "nope").update(bytes).digest("hex")}` }],
      ["/hooks/github", { "X-Hub-Signature-256": SECRETS.GH_SECRET, Authorization: `Bearer ${SECRETS.GH_SECRET}` }],
      ["/hooks/stripe", { "Stripe-Signature": `t=${t},v1=${SECRETS.STRIPE_SECRET}` }],
      ["/hooks/header-token", { "X-Api-Key": `${SECRETS.HEADER_TOKEN}x`, Authorization: `Bearer ${SECRETS.HEADER_TOKEN}` }],
      [`/hooks/query-token?key=${SECRETS.QUERY_TOKEN}x&token=${SECRETS.QUERY_TOKEN}`, {}],
      [`/hooks/query-token/nowhere?key=${SECRETS.QUERY_TOKEN}`, {}],
      ["/hooks/gitlab", { "X-Gitlab-Token": SECRETS.HEADER_TOKEN }],
    ] as const;
    for (const [path, headers] of wrong) expect((await post(`${url}${path}`, body, headers)).status, path).toBeGreaterThanOrEqual(400);
    expect((await post(`${url}/hooks/meraki`, JSON.stringify({ sharedSecret: `${SECRETS.MERAKI_SECRET}!` }))).status).toBe(401);
    expect((await post(`${url}/hooks/meraki`, `{"sharedSecret":"${SECRETS.MERAKI_SECRET}"`)).status).toBe(400);
    expect((await fetch(`${url}/hooks/github?key=${SECRETS.QUERY_TOKEN}`)).status).toBe(405);

    // Six events × three targets, each failing for good.
    await waitFor(
      async () => {
        const dlq = await runCli(["dlq", "list", "--json", "-c", config], env);
        return (JSON.parse(dlq.stdout) as unknown[]).length === 18;
      },
      "every delivery to fail for good",
      20_000,
    );
  });

  it("keeps every secret out of the logs, the admin answers, and the CLI's listings", async () => {
    const events = (await (await fetch(`${daemon.adminUrl}/api/v1/events?limit=500`, { headers: admin })).json()) as {
      events: { id: string }[];
    };
    const api = ["/api/v1/status", "/api/v1/routes", "/api/v1/events?limit=500", "/api/v1/dead-letters", "/api/v1/rejections"];
    for (const path of ["/metrics", "/readyz", "/healthz", ...api, ...events.events.map((e) => `/api/v1/events/${e.id}`)]) {
      const res = await fetch(`${daemon.adminUrl}${path}`, { headers: admin });
      expect(res.status, path).toBe(200);
      exhibits[`GET ${path}`] = `${JSON.stringify([...res.headers])}\n${await res.text()}`;
    }
    const commands = [
      ["events", "--json", "--limit", "100"],
      ["events", "--limit", "100"],
      ["dlq", "list", "--json"],
      ["dlq", "list"],
      ["check"],
      ["check", "--json"],
    ];
    const outputs = await Promise.all(commands.map((args) => runCli([...args, "-c", config], env)));
    commands.forEach((args, i) => {
      const out = outputs[i];
      expect(out?.code, args.join(" ")).toBe(0);
      exhibits[`switchyard ${args.join(" ")}`] = `${out?.stdout}${out?.stderr}`;
    });
    exhibits["daemon log"] = JSON.stringify(daemon.logs) + daemon.stderr.join("");
    expect(leaks(exhibits)).toEqual([]);

    // The target did echo our credentials, and the stored errors show the mask instead.
    expect(sink.requests.length).toBe(0);
    const dlq = JSON.parse(exhibits["switchyard dlq list --json"] ?? "[]") as { target: string; lastError: string }[];
    const echo = dlq.filter((d) => d.target === "echo");
    expect(echo.length).toBe(6);
    for (const d of echo) expect(d.lastError).toMatch(/^HTTP 500 Internal Server Error: .*"authorization":"\[redacted\]"/);
    for (const d of dlq.filter((x) => x.target === "basic")) expect(d.lastError).toContain('"authorization":"[redacted]"');
  });

  it("keeps every secret out of the errors of broken configs, on check, serve and reload", async () => {
    const newline = CONFIG.replace('Authorization: "Bearer ${TARGET_TOKEN}"', 'Authorization: "Bearer ${TARGET_TOKEN}\\n"');
    const broken = {
      // A token from a variable with a trailing newline (an invalid header value); secrets where
      // the schema wants a duration, a header name, a size; a URL with a password and a bad scheme.
      routes: newline
        .replace('secret: "${GH_SECRET}" }', 'secret: "${GH_SECRET}", tolerance: "${GH_SECRET}" }')
        .replace("header: X-Api-Key,", 'header: "${HEADER_TOKEN} x",')
        .replace('  admin_token: "${ADMIN_TOKEN}"', '  admin_token: "${ADMIN_TOKEN}"\n  body_limit: "${ADMIN_TOKEN}"')
        .replace('url: "http://robot:${URL_PASSWORD}@${SINK_HOST}/basic"', 'url: "ftp://robot:${URL_PASSWORD}@${SINK_HOST}/basic"'),
      // A Redis URL that is not one, its password from a variable, and written inline.
      redis: CONFIG.replace("store: { path: ./data/switchyard.db }", 'store: { type: redis, url: "http://:${URL_PASSWORD}@redis" }'),
      inlineRedis: CONFIG.replace(
        "store: { path: ./data/switchyard.db }",
        `store: { type: redis, url: "http://:${SECRETS.URL_PASSWORD}@redis" }`,
      ),
    };
    await Promise.all(
      Object.entries(broken).map(async ([name, text]) => {
        expect(text, name).not.toBe(CONFIG);
        const file = writeConfig(dir, text, `broken-${name}.yaml`);
        const [check, checkJson, serve] = await Promise.all([
          runCli(["check", "-c", file], env),
          runCli(["check", "--json", "-c", file], env),
          runCli(["serve", "-c", file], env),
        ]);
        expect([check.code, checkJson.code, serve.code], name).toEqual([1, 1, 1]);
        exhibits[`check ${name}`] = check.stdout + check.stderr;
        exhibits[`check --json ${name}`] = checkJson.stdout + checkJson.stderr;
        exhibits[`serve ${name}`] = serve.stdout + serve.stderr;
      }),
    );
    // A broken edit of the running daemon's file: the reload fails, and logs why.
    const good = readFileSync(config, "utf8");
    const failedBefore = daemon.logs.filter((l) => l.msg === "config reload failed; the previous config keeps serving").length;
    writeConfig(dir, newline);
    daemon.proc.kill("SIGHUP");
    await waitFor(
      () => daemon.logs.filter((l) => l.msg === "config reload failed; the previous config keeps serving").length > failedBefore,
      "the reload to fail",
    );
    writeConfig(dir, good);
    exhibits["daemon log after a failed reload"] = JSON.stringify(daemon.logs) + daemon.stderr.join("");
    expect(leaks(exhibits)).toEqual([]);
    // The errors still say where the problem is.
    const routesCheck = exhibits["check routes"] ?? "";
    for (const place of [
      "routes[0].targets[0].headers.Authorization",
      "routes[0].verify.tolerance",
      "routes[2].verify.header",
      "server.body_limit",
    ]) {
      expect(routesCheck).toContain(place);
    }
    expect(exhibits["check redis"]).toContain("store.url: the value is not in the expected form");
  });
});
