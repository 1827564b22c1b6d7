import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { sign as githubSign } from "@octokit/webhooks-methods";
import { Webhook } from "standardwebhooks";
import Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { metric, post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The whole pipeline as a user runs it: the built CLI serving a config, requests signed by the
 * providers' own SDKs, an HTTP sink and a real script as targets, and /metrics read back.
 */

const GH_SECRET = "gh-e2e-secret";
const STRIPE_SECRET = "whsec_e2e_stripe_secret";
const SW_SECRET = `whsec_${Buffer.from("standard-webhooks-e2e-key").toString("base64")}`;
const MERAKI_SECRET = "meraki-secret";
const fixtures = resolve(import.meta.dirname, "../fixtures");
const pushBody = readFileSync(join(fixtures, "github-push.json"), "utf8");
const push = JSON.parse(pushBody) as { ref: string; after: string; repository: { full_name: string } };
const merakiBody = readFileSync(join(fixtures, "meraki-alert.json"), "utf8");

const RECORD_SCRIPT = `#!/bin/sh
# Records exactly what it was given: argv (one per line), GIT_REF and stdin.
out="$(dirname "$0")/runs/$SWITCHYARD_EVENT_ID"
mkdir -p "$(dirname "$0")/runs"
printf '%s\\n' "$@" > "$out.argv"
printf '%s' "$GIT_REF" > "$out.env"
cat > "$out.stdin"
`;

describe("e2e: verify → filter → transform → deliver", () => {
  let dir: string;
  let sink: Sink;
  let daemon: RunningDaemon;

  beforeAll(async () => {
    dir = tempDir();
    sink = await startSink();
    writeFileSync(join(dir, "record.sh"), RECORD_SCRIPT);
    chmodSync(join(dir, "record.sh"), 0o755);
    const config = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: ./data/switchyard.db }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "\${GH_SECRET}" }
    dedupe: true
    filter: headers."x-github-event" = "push"
    targets:
      - name: notify
        type: http
        url: \${SINK_URL}/deploys
        transform: '{ "text": "push to " & body.repository.full_name, "ref": body.ref }'
      - name: deploy
        type: exec
        command: [./record.sh, --pull]
        args: [body.repository.full_name, body.after]
        env: { GIT_REF: body.ref }
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: "\${STRIPE_SECRET}" }
    dedupe: true
    targets:
      - { name: ledger, type: http, url: "\${SINK_URL}/stripe" }
  - name: sw
    path: /hooks/sw
    verify: { type: standard-webhooks, secret: "${SW_SECRET}" }
    targets:
      - { name: sink, type: http, url: "\${SINK_URL}/sw", transform: body.data }
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: ${MERAKI_SECRET} }
    dedupe: true
    targets:
      - { name: ntfy, type: http, url: "\${SINK_URL}/meraki" }
`,
    );
    daemon = await startDaemon(config, { GH_SECRET, STRIPE_SECRET, SINK_URL: sink.url });
  });

  afterAll(async () => {
    await daemon?.stop();
    await sink?.close();
  });

  const github = async (event: string, body: string, opts: { signature?: string; delivery?: string } = {}) =>
    post(`${daemon.url}/hooks/github`, body, {
      "x-github-event": event,
      "x-github-delivery": opts.delivery ?? crypto.randomUUID(),
      ...(opts.signature !== "" ? { "x-hub-signature-256": opts.signature ?? (await githubSign(GH_SECRET, body)) } : {}),
    });

  it("answers GitHub's ping and delivers nothing", async () => {
    const res = await github("ping", JSON.stringify({ zen: "Keep it logically awesome.", hook_id: 1 }));
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: "pong" });
  });

  it("delivers a signed push: transformed body to HTTP, argv/env/stdin to the script", async () => {
    const res = await github("push", pushBody, { delivery: "delivery-1" });
    expect(res.status).toBe(202);
    const { id } = res.json() as { id: string };
    const got = await waitFor(() => sink.requests.find((r) => r.url === "/deploys"), "the HTTP delivery");
    expect(JSON.parse(got.body)).toEqual({ text: `push to ${push.repository.full_name}`, ref: push.ref });
    expect(got.headers["content-type"]).toMatch(/application\/json/);
    expect(got.headers["x-switchyard-event-id"]).toBe(id);

    const runs = join(dir, "runs", id);
    // `cat` writes stdin in pieces: wait until the whole document is there, not just its start.
    const written = await waitFor(() => {
      try {
        return JSON.parse(readFileSync(`${runs}.stdin`, "utf8")) as unknown;
      } catch {
        return undefined;
      }
    }, "the script run");
    expect(readFileSync(`${runs}.argv`, "utf8")).toBe(`--pull\n${push.repository.full_name}\n${push.after}\n`);
    expect(readFileSync(`${runs}.env`, "utf8")).toBe(push.ref);
    const stdin = written as {
      id: string;
      route: string;
      body: unknown;
      headers: Record<string, string>;
    };
    expect(stdin).toMatchObject({ id, route: "github", body: push });
    expect(stdin.headers["x-github-event"]).toBe("push");
  });

  it("answers a redelivery with 200 duplicate and delivers it once", async () => {
    const res = await github("push", pushBody, { delivery: "delivery-1" });
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({ status: "duplicate" });
  });

  it("ignores events the route filter rejects", async () => {
    const res = await github("issues", JSON.stringify({ action: "opened" }));
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ status: "ignored" });
  });

  it("refuses forged and unsigned requests with 401 and delivers nothing", async () => {
    const forged = await github("push", pushBody, { signature: await githubSign("wrong-secret", pushBody) });
    const tampered = await github("push", `${pushBody} `, { signature: await githubSign(GH_SECRET, pushBody) });
    const unsigned = await github("push", pushBody, { signature: "" });
    for (const r of [forged, tampered, unsigned]) {
      expect(r.status).toBe(401);
      expect(r.json()).toEqual({ error: "verification failed" });
    }
  });

  it("verifies Stripe signatures made by the Stripe SDK, refusing stale ones", async () => {
    const stripe = new Stripe("sk_test_e2e");
    const payload = JSON.stringify({
      id: "evt_e2e_1",
      object: "event",
      type: "invoice.paid",
      data: { object: { id: "in_1", amount_paid: 4200 } },
    });
    const header = stripe.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
    expect((await post(`${daemon.url}/hooks/stripe`, payload, { "stripe-signature": header })).status).toBe(202);
    const got = await waitFor(() => sink.requests.find((r) => r.url === "/stripe"), "the Stripe delivery");
    expect(JSON.parse(got.body)).toEqual(JSON.parse(payload));

    const stale = stripe.webhooks.generateTestHeaderString({
      payload,
      secret: STRIPE_SECRET,
      timestamp: Math.floor(Date.now() / 1000) - 600,
    });
    expect(
      (await post(`${daemon.url}/hooks/stripe`, payload.replace("evt_e2e_1", "evt_e2e_2"), { "stripe-signature": stale })).status,
    ).toBe(401);
  });

  it("verifies Standard Webhooks signatures made by its SDK, refusing future ones", async () => {
    const wh = new Webhook(SW_SECRET);
    const payload = JSON.stringify({ type: "user.created", data: { user: "ada" } });
    const at = new Date();
    const ok = await post(`${daemon.url}/hooks/sw`, payload, {
      "webhook-id": "msg_1",
      "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
      "webhook-signature": wh.sign("msg_1", at, payload),
    });
    expect(ok.status).toBe(202);
    const got = await waitFor(() => sink.requests.find((r) => r.url === "/sw"), "the Standard Webhooks delivery");
    expect(JSON.parse(got.body)).toEqual({ user: "ada" });

    const future = new Date(Date.now() + 10 * 60_000);
    const res = await post(`${daemon.url}/hooks/sw`, payload, {
      "webhook-id": "msg_2",
      "webhook-timestamp": String(Math.floor(future.getTime() / 1000)),
      "webhook-signature": wh.sign("msg_2", future, payload),
    });
    expect(res.status).toBe(401);
  });

  it("checks Meraki's shared secret and never forwards it", async () => {
    expect((await post(`${daemon.url}/hooks/meraki`, merakiBody)).status).toBe(202);
    const got = await waitFor(() => sink.requests.find((r) => r.url === "/meraki"), "the Meraki delivery");
    const forwarded = JSON.parse(got.body) as Record<string, unknown>;
    expect(forwarded.alertType).toBe("APs came up");
    expect(forwarded).not.toHaveProperty("sharedSecret");
    expect(got.body).not.toContain(MERAKI_SECRET);

    const wrong = merakiBody.replace(MERAKI_SECRET, "guess").replace("0000000000000000", "1111");
    expect((await post(`${daemon.url}/hooks/meraki`, wrong)).status).toBe(401);
  });

  it("answers 404, 405 and 413 as the contract says", async () => {
    expect((await post(`${daemon.url}/hooks/nope`, "{}")).status).toBe(404);
    expect((await fetch(`${daemon.url}/hooks/github`)).status).toBe(405);
    expect((await post(`${daemon.url}/hooks/github`, "x".repeat(1024 * 1024 + 1))).status).toBe(413);
  });

  it("counts every outcome exactly in /metrics", async () => {
    await waitFor(async () => {
      const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
      return metric(text, "switchyard_deliveries_total", { route: "github", target: "deploy", outcome: "success" }) === 1;
    }, "the deploy delivery to be counted");
    const text = await (await fetch(`${daemon.adminUrl}/metrics`)).text();
    const received = (route: string, outcome: string) => metric(text, "switchyard_events_received_total", { route, outcome });
    expect(received("github", "accepted")).toBe(1);
    expect(received("github", "duplicate")).toBe(1);
    expect(received("github", "ignored")).toBe(2); // ping + issues
    expect(received("github", "rejected")).toBe(3);
    expect(received("github", "invalid")).toBe(1); // the 413
    expect(received("stripe", "accepted")).toBe(1);
    expect(received("stripe", "rejected")).toBe(1);
    expect(received("sw", "rejected")).toBe(1);
    expect(received("meraki", "accepted")).toBe(1);
    expect(received("meraki", "rejected")).toBe(1);
    const delivered = (route: string, target: string) => metric(text, "switchyard_deliveries_total", { route, target, outcome: "success" });
    expect(delivered("github", "notify")).toBe(1);
    expect(delivered("github", "deploy")).toBe(1);
    expect(delivered("stripe", "ledger")).toBe(1);
    expect(sink.requests.filter((r) => r.url === "/deploys")).toHaveLength(1);
    expect(metric(text, "switchyard_config_last_reload_successful")).toBe(1);
    expect(metric(text, "process_resident_memory_bytes")).toBeGreaterThan(0);
  });

  it("never writes a secret to its log", () => {
    const all = JSON.stringify(daemon.logs) + daemon.stderr.join("");
    for (const secret of [GH_SECRET, STRIPE_SECRET, SW_SECRET, MERAKI_SECRET]) expect(all).not.toContain(secret);
  });
});
