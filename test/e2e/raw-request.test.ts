import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { sign as octokitSign, verify as octokitVerify } from "@octokit/webhooks-methods";
import Stripe from "stripe";
import { describe, expect, it } from "vitest";
import { githubSignature } from "../server/signers.js";
import {
  cleanupAfterEach,
  post,
  runCli,
  runCliBytes,
  type Sink,
  startDaemon,
  startSink,
  tempDir,
  waitFor,
  writeConfig,
} from "./harness.js";

/**
 * The request as received: the stored body is the bytes that arrived, so a target with
 * `forward: raw` hands an app behind Switchyard a request whose provider signature still
 * verifies (checked here with the providers' own libraries), and `events show ID --raw` gives
 * those bytes back exactly.
 */

const GITHUB_SECRET = "raw-github-secret";
const STRIPE_SECRET = "whsec_raw_stripe_secret";
const MERAKI_SECRET = "raw-meraki-secret";
/** Spelled as no serializer would write it: indented, a trailing newline, an escaped character. */
const PUSH = Buffer.from(
  `${JSON.stringify(JSON.parse(readFileSync(join(import.meta.dirname, "../fixtures/github-push.json"), "utf8")), null, 2).replace("simple-tag", "simple-\\u0074ag")}\n`,
);
const ALL_BYTES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const SLOW = 120_000;

/** A sink that answers 200 only when `check` accepts the request, 401 otherwise (and keeps only accepted ones). */
function verifying(sink: Sink, check: (body: string, headers: Sink["requests"][number]["headers"]) => Promise<boolean>): Sink {
  sink.respond = async (req, res) => {
    const ok = await check(req.body, req.headers).catch(() => false);
    res.writeHead(ok ? 200 : 401).end(ok ? "verified" : "signature does not verify");
  };
  return sink;
}

describe("e2e: the request as received", () => {
  const { track } = cleanupAfterEach();

  async function setUp() {
    const dir = tempDir("switchyard-raw-");
    const github = track(await startSink());
    const stripeSink = track(await startSink());
    const plain = track(await startSink());
    verifying(github, async (body, headers) => octokitVerify(GITHUB_SECRET, body, String(headers["x-hub-signature-256"])));
    const stripe = new Stripe("sk_test_unused");
    verifying(stripeSink, async (body, headers) => {
      stripe.webhooks.constructEvent(body, String(headers["stripe-signature"]), STRIPE_SECRET);
      return true;
    });
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0 }
store: { path: "${join(dir, "switchyard.db")}" }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: ${GITHUB_SECRET} }
    targets:
      - name: jenkins
        type: http
        url: ${github.url}/github-webhook/
        forward: raw
        forward_headers: [x-hub-signature-256, x-github-event, x-github-delivery]
        retry: { attempts: 1 }
      - name: summary
        type: http
        url: ${plain.url}/summary
        transform: '{ "ref": body.ref }'
        retry: { attempts: 1 }
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: ${STRIPE_SECRET} }
    targets:
      - name: app
        type: http
        url: ${stripeSink.url}/stripe
        forward: raw
        forward_headers: [stripe-signature]
        retry: { attempts: 1 }
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: ${MERAKI_SECRET} }
    targets:
      - name: raw
        type: http
        url: ${plain.url}/meraki
        forward: raw
        retry: { attempts: 1 }
`,
    );
    const daemon = track(await startDaemon(file));
    return { file, daemon, github, stripeSink, plain };
  }

  it(
    "forwards a GitHub push raw: the app behind verifies GitHub's signature with @octokit/webhooks-methods",
    async () => {
      const { daemon, github, plain } = await setUp();
      const delivery = randomUUID();
      const signature = await octokitSign(GITHUB_SECRET, PUSH.toString("utf8"));
      const r = await post(`${daemon.url}/hooks/github`, PUSH, {
        "x-github-event": "push",
        "x-github-delivery": delivery,
        "x-hub-signature-256": signature,
      });
      expect(r.status).toBe(202);
      const got = await waitFor(() => github.requests[0], "the verified raw delivery");
      expect(got.bytes.equals(PUSH)).toBe(true);
      expect(got.headers).toMatchObject({
        "content-type": "application/json",
        "x-hub-signature-256": signature,
        "x-github-event": "push",
        "x-github-delivery": delivery,
      });
      // A target of the same event that transforms still gets the parsed body.
      const summary = await waitFor(() => plain.requests.find((q) => q.url === "/summary"), "the transformed delivery");
      expect(JSON.parse(summary.body)).toEqual({ ref: "refs/tags/simple-tag" });
    },
    SLOW,
  );

  it(
    "forwards a Stripe event raw: the app behind verifies it with the stripe SDK's constructEvent",
    async () => {
      const { daemon, stripeSink } = await setUp();
      const payload = `{\n  "id": "evt_raw_1",\n  "object": "event",\n  "type": "invoice.paid"\n}`;
      const header = new Stripe("sk_test_unused").webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET });
      const r = await post(`${daemon.url}/hooks/stripe`, payload, { "stripe-signature": header });
      expect(r.status).toBe(202);
      const got = await waitFor(() => stripeSink.requests[0], "the verified raw delivery");
      expect(got.body).toBe(payload);
      expect(got.headers["stripe-signature"]).toBe(header);
    },
    SLOW,
  );

  it(
    "stores binary bodies byte for byte: forward raw and events show --raw give back every byte, and the bytes replay",
    async () => {
      const { file, daemon, github } = await setUp();
      github.respond = (_req, res) => {
        res.writeHead(200).end();
      };
      const headers = {
        "content-type": "application/octet-stream",
        "x-github-event": "push",
        "x-hub-signature-256": githubSignature(GITHUB_SECRET, ALL_BYTES),
      };
      const r = await post(`${daemon.url}/hooks/github`, ALL_BYTES, { ...headers, "x-github-delivery": randomUUID() });
      expect(r.status).toBe(202);
      const id = (r.json() as { id: string }).id;
      const got = await waitFor(() => github.requests[0], "the raw delivery");
      expect(got.bytes.equals(ALL_BYTES)).toBe(true);
      expect(got.headers["content-type"]).toBe("application/octet-stream");

      const shown = await runCliBytes(["events", "show", id, "--raw", "-c", file]);
      expect(shown).toMatchObject({ code: 0, stderr: "" });
      expect(shown.stdout.equals(ALL_BYTES)).toBe(true);
      // What `switchyard events show ID --raw | curl --data-binary @-` does: the bytes, sent again with
      // the provider's signature, are accepted as the same request.
      const again = await post(`${daemon.url}/hooks/github`, shown.stdout, { ...headers, "x-github-delivery": randomUUID() });
      expect(again.status).toBe(202);

      const human = await runCli(["events", "show", id, "-c", file]);
      expect(human.code).toBe(0);
      expect(human.stdout).toContain(`(256 bytes that are not UTF-8 text: switchyard events show ${id} --raw writes them as received)`);
      const both = await runCli(["events", "show", id, "--raw", "--json", "-c", file]);
      expect(both.code).toBe(1);
      expect(both.stderr).toContain("not both");
    },
    SLOW,
  );

  it(
    "shared-secret is the one scheme that rewrites the stored bytes: the secret is gone from what is forwarded and shown",
    async () => {
      const { file, daemon, plain } = await setUp();
      const alert = `{ "alertId": "a1", "sharedSecret": "${MERAKI_SECRET}", "alertType": "APs went down" }`;
      const r = await post(`${daemon.url}/hooks/meraki`, alert);
      expect(r.status).toBe(202);
      const id = (r.json() as { id: string }).id;
      const got = await waitFor(() => plain.requests.find((q) => q.url === "/meraki"), "the raw delivery");
      expect(got.body).not.toContain(MERAKI_SECRET);
      expect(JSON.parse(got.body)).toEqual({ alertId: "a1", alertType: "APs went down" });
      const shown = await runCliBytes(["events", "show", id, "--raw", "-c", file]);
      expect(shown.stdout.toString("utf8")).toBe(got.body);
    },
    SLOW,
  );

  it(
    "check refuses forward: raw with a transform, naming the place",
    async () => {
      const dir = tempDir("switchyard-raw-check-");
      const file = writeConfig(
        dir,
        `
server: { listen: 127.0.0.1:0 }
store: { path: "${join(dir, "switchyard.db")}" }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: s }
    targets:
      - { name: jenkins, type: http, url: "http://127.0.0.1:9/", forward: raw, transform: "body.ref" }
`,
      );
      const r = await runCli(["check", "-c", file]);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain("routes[0].targets[0].transform");
      expect(r.stdout + r.stderr).toContain("cannot be used with forward: raw");
    },
    SLOW,
  );
});
