import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type Finished,
  finished,
  type RunningDaemon,
  runCli,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * `switchyard sign` prints a curl line; a user pastes it into a shell. Here the line is run by
 * `sh` exactly as printed, against a running daemon whose routes filter on what each provider
 * always sends (its event header, a JSON body): the request must be accepted and delivered.
 */

const root = resolve(import.meta.dirname, "../..");
const SW_SECRET = `whsec_${Buffer.from("standard-webhooks-sign-key").toString("base64")}`;

interface Case {
  route: string;
  verify: string;
  filter: string;
  body: unknown;
}

const cases: Case[] = [
  { route: "github", verify: "{ type: github, secret: gh }", filter: `headers."x-github-event" = "push"`, body: "push-main" },
  { route: "gitea", verify: "{ type: gitea, secret: gt }", filter: `headers."x-gitea-event" = "push"`, body: { ref: "refs/heads/main" } },
  {
    route: "gitlab",
    verify: "{ type: gitlab, secret: gl }",
    filter: `headers."x-gitlab-event" = "Push Hook" and body.object_kind = "push"`,
    body: { object_kind: "push", ref: "refs/heads/main" },
  },
  {
    route: "bitbucket",
    verify: "{ type: bitbucket, secret: bb }",
    filter: `headers."x-event-key" = "repo:push"`,
    body: { push: { changes: [] } },
  },
  {
    route: "shopify",
    verify: "{ type: shopify, secret: sh }",
    filter: `headers."x-shopify-topic" = "orders/create" and body.id = 820982911946154500`,
    body: { id: 820982911946154500, email: "jon@example.com" },
  },
  {
    route: "stripe",
    verify: "{ type: stripe, secret: whsec_sign_test }",
    filter: `body.type = "invoice.paid"`,
    body: { id: "evt_1", object: "event", type: "invoice.paid", data: { object: { id: "in_1" } } },
  },
  {
    route: "slack",
    verify: "{ type: slack, secret: sl }",
    filter: `body.type = "event_callback"`,
    body: { type: "event_callback", event_id: "Ev1", event: { type: "app_mention" } },
  },
  {
    route: "standard",
    verify: `{ type: standard-webhooks, secret: "${SW_SECRET}" }`,
    filter: `body.type = "invoice.paid"`,
    body: { type: "invoice.paid", data: {} },
  },
  {
    route: "linear",
    verify: "{ type: linear, secret: li }",
    filter: `headers."linear-event" = "Issue" and $exists(headers."linear-delivery")`,
    body: { action: "create", type: "Issue", data: { id: "i1" }, webhookTimestamp: 0 },
  },
  {
    route: "meta",
    verify: "{ type: meta, secret: mt, verify_token: vt }",
    filter: `body.object = "page"`,
    body: { object: "page", entry: [] },
  },
  {
    route: "typeform",
    verify: "{ type: typeform, secret: tf }",
    filter: `body.event_type = "form_response"`,
    body: { event_id: "e1", event_type: "form_response" },
  },
  {
    route: "intercom",
    verify: "{ type: intercom, secret: ic }",
    filter: `body.topic = "ping"`,
    body: { type: "notification_event", id: "notif_1", topic: "ping" },
  },
  {
    route: "vercel",
    verify: "{ type: vercel, secret: vc }",
    filter: `body.type = "deployment.succeeded"`,
    body: { id: "v1", type: "deployment.succeeded" },
  },
  {
    route: "sentry",
    verify: "{ type: sentry, secret: se }",
    filter: `headers."sentry-hook-resource" = "issue" and $exists(headers."request-id")`,
    body: { action: "created", data: { issue: { id: "1" } } },
  },
  {
    route: "jira",
    verify: "{ type: jira, secret: ji }",
    filter: `body.webhookEvent = "jira:issue_created" and $exists(headers."x-atlassian-webhook-identifier")`,
    body: { webhookEvent: "jira:issue_created", issue: { key: "OPS-1" } },
  },
  {
    route: "circleci",
    verify: "{ type: circleci, secret: cc }",
    filter: `headers."circleci-event-type" = "workflow-completed"`,
    body: { id: "c1", type: "workflow-completed" },
  },
  {
    route: "pagerduty",
    verify: "{ type: pagerduty, secret: pd }",
    filter: `body.event.event_type = "incident.triggered"`,
    body: { event: { id: "p1", event_type: "incident.triggered" } },
  },
  { route: "svix", verify: `{ type: svix, secret: "${SW_SECRET}" }`, filter: `$exists(headers."svix-id")`, body: { type: "invoice.paid" } },
  { route: "resend", verify: `{ type: resend, secret: "${SW_SECRET}" }`, filter: `body.type = "email.sent"`, body: { type: "email.sent" } },
  {
    route: "clerk",
    verify: `{ type: clerk, secret: "${SW_SECRET}" }`,
    filter: `body.type = "user.created"`,
    body: { type: "user.created" },
  },
  {
    route: "meraki",
    verify: "{ type: meraki, secret: mk }",
    filter: `body.alertType = "APs came up" and $not($exists(body.sharedSecret))`,
    body: { alertId: "a1", alertType: "APs came up" },
  },
  {
    route: "basic",
    verify: '{ type: basic, username: grafana, secret: "pa\'ss" }',
    filter: `body.status = "firing" and $not($exists(headers.authorization))`,
    body: { status: "firing" },
  },
  {
    route: "hmac",
    verify: `{ type: hmac, secret: hm, header: X-Signature, signed: "{header:X-Team}.{body}" }`,
    filter: `headers."x-team" = "ops"`,
    body: { hello: "world" },
  },
];

function bodyFile(dir: string, c: Case): string {
  if (c.body === "push-main") return join(root, "examples/github-deploy/push-main.json");
  const file = join(dir, `${c.route}.json`);
  writeFileSync(file, JSON.stringify(c.body));
  return file;
}

/** Runs a line with `sh -c`, as a user pasting it would. */
function shell(line: string, cwd: string): Promise<Finished> {
  return finished(spawn("sh", ["-c", line], { cwd, stdio: ["ignore", "pipe", "pipe"] }));
}

describe("e2e: sign's curl line", () => {
  let dir: string;
  let sink: Sink;
  let daemon: RunningDaemon;
  let config: string;

  beforeAll(async () => {
    dir = tempDir();
    sink = await startSink();
    const routes = cases
      .map(
        (c) => `
  - name: ${c.route}
    path: /hooks/${c.route}
    verify: ${c.verify}
    dedupe: true
    filter: '${c.filter}'
    targets: [{ name: sink, type: http, url: "${sink.url}/${c.route}" }]`,
      )
      .join("");
    config = writeConfig(dir, `server: { listen: 127.0.0.1:0 }\nstore: { path: ./data/switchyard.db }\nroutes:${routes}\n`);
    daemon = await startDaemon(config);
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  it.each(cases)("for a $route route is accepted and delivered", async (c) => {
    const extra = c.route === "hmac" ? ["-H", "X-Team: ops"] : [];
    const signed = await runCli(["sign", c.route, "-c", config, "--body", bodyFile(dir, c), "--url", daemon.url, ...extra]);
    expect(signed.stderr).toBe("");
    expect(signed.code).toBe(0);
    const curl = signed.stdout.trim().split("\n").at(-1) ?? "";
    expect(curl).toMatch(/^curl /);
    expect(curl).toMatch(/-H 'Content-Type: application\/json/);
    const sent = await shell(curl, root);
    expect(sent.stderr).toBe("");
    expect(JSON.parse(sent.stdout)).toMatchObject({ status: "accepted" });
    await waitFor(() => sink.requests.some((r) => r.url === `/${c.route}`), `the ${c.route} delivery`, 20_000);
  });

  it("names the provider's event and delivery in the headers it prints", async () => {
    const r = await runCli(["sign", "github", "-c", config, "--body", join(root, "examples/github-deploy/push-main.json")]);
    expect(r.stdout).toMatch(/^X-GitHub-Event: push$/m);
    expect(r.stdout).toMatch(/^X-GitHub-Delivery: [0-9a-f-]{36}$/m);
    expect(r.stdout).toMatch(/^X-Hub-Signature-256: sha256=[0-9a-f]{64}$/m);
  });

  it("-H replaces the provider's default: another GitHub event is ignored by a push-only route", async () => {
    const file = join(root, "examples/github-deploy/push-main.json");
    const r = await runCli(["sign", "github", "-c", config, "--body", file, "--url", daemon.url, "-H", "x-github-event: issues"]);
    expect(r.code).toBe(0);
    const curl = r.stdout.trim().split("\n").at(-1) ?? "";
    expect(curl).not.toContain("X-GitHub-Event: push");
    const sent = await shell(curl, root);
    expect(JSON.parse(sent.stdout)).toEqual({ status: "ignored" });
  });

  it("refuses a -H that is not 'Name: value'", async () => {
    const file = join(root, "examples/github-deploy/push-main.json");
    const r = await runCli(["sign", "github", "-c", config, "--body", file, "-H", "no colon here"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("-H takes 'Name: value'");
  });
});
