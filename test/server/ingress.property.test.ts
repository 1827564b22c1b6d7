import { randomUUID } from "node:crypto";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MAX_JSON_DEPTH } from "../../src/server/json-depth.js";
import { type Ingress, startIngress } from "./ingress-fixture.js";
import { chunked, rawRequest, requestBytes } from "./raw-http.js";
import { githubSignature, standardWebhooksSignature, stripeSignature } from "./signers.js";

/**
 * Property-based tests of the real ingress: arbitrary requests on raw sockets against the koa
 * app, the daemon's listener settings and a real SQLite store. Whatever arrives: never a 5xx,
 * the process stays up, nothing is stored that was not validly signed (computed here, not by
 * the verifiers), and memory stays bounded. SWITCHYARD_FC_SEED=<n> replays a run.
 */

const GH = "gh-property-secret-1";
const STRIPE = "whsec_property_stripe_secret";
const SW = `whsec_${Buffer.from("property-standard-webhooks-key").toString("base64")}`;
const MERAKI = "meraki-property-secret";
const TOKEN = "token-property-secret";
const BODY_LIMIT = 64 * 1024;
const RUNS = Number(process.env.SWITCHYARD_FC_RUNS ?? 300);

const CONFIG = `
server: { listen: 127.0.0.1:0, body_limit: 64kb }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: ${GH} }
    filter: 'headers."x-github-event" != "ignored"'
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: ${STRIPE} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: sw
    path: /hooks/sw
    verify: { type: standard-webhooks, secret: "${SW}" }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: ${MERAKI} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: token
    path: /hooks/token
    verify: { type: token, secret: ${TOKEN} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: tokenq
    path: /hooks/tokenq
    verify: { type: token, query: key, secret: ${TOKEN} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;

type RouteName = "github" | "stripe" | "sw" | "meraki" | "token" | "tokenq";
const ROUTES: readonly RouteName[] = ["github", "stripe", "sw", "meraki", "token", "tokenq"];

/** How the credential is presented. Only "valid" carries a correct one. */
type Mode = "valid" | "missing" | "wrong-secret" | "wrong-length" | "wrong-encoding" | "wrong-prefix" | "stale" | "duplicate";

type BodySpec =
  | { kind: "object"; value: Record<string, unknown> }
  | { kind: "bytes"; value: Uint8Array }
  | { kind: "deep"; depth: number; objects: boolean }
  | { kind: "large"; size: number }
  | { kind: "over-limit"; size: number };

interface Case {
  route: RouteName | "unknown";
  method: string;
  mode: Mode;
  body: BodySpec;
  contentType: string | undefined;
  extraHeaders: [string, string][];
  hugeHeader: number;
  chunks: number[] | undefined;
  githubEvent: string;
}

// ---- generators ------------------------------------------------------------------------

const tokenChars = fc.stringMatching(/^[a-z0-9-]{1,20}$/);
const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,200}$/);
/** Names no scheme reads: random extras must not change who is validly signed. */
const extraHeader = fc.tuple(
  fc.oneof(
    tokenChars.map((n) => `x-r-${n}`),
    fc.constantFrom("user-agent", "accept", "x-forwarded-for", "cookie", "accept-encoding"),
  ),
  headerValue,
);

const bodySpec: fc.Arbitrary<BodySpec> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .dictionary(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 })
      .map((value) => ({ kind: "object" as const, value })),
  },
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 4096 }).map((value) => ({ kind: "bytes" as const, value })) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant("deep" as const),
      // Around the nesting limit, and far beyond it (still within body_limit).
      depth: fc.oneof(
        fc.integer({ min: MAX_JSON_DEPTH - 8, max: MAX_JSON_DEPTH + 8 }),
        fc.integer({ min: 1, max: Math.floor(BODY_LIMIT / 6) - 10 }),
      ),
      objects: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: BODY_LIMIT - 64 }).map((size) => ({ kind: "large" as const, size })) },
  { weight: 1, arbitrary: fc.integer({ min: BODY_LIMIT + 1, max: BODY_LIMIT * 3 }).map((size) => ({ kind: "over-limit" as const, size })) },
);

const caseArb: fc.Arbitrary<Case> = fc.record({
  route: fc.oneof({ weight: 12, arbitrary: fc.constantFrom(...ROUTES) }, { weight: 1, arbitrary: fc.constant("unknown" as const) }),
  method: fc.oneof(
    { weight: 12, arbitrary: fc.constant("POST") },
    { weight: 1, arbitrary: fc.constantFrom("GET", "PUT", "DELETE", "PATCH", "OPTIONS") },
  ),
  mode: fc.constantFrom<Mode>(
    "valid",
    "valid",
    "valid",
    "missing",
    "wrong-secret",
    "wrong-length",
    "wrong-encoding",
    "wrong-prefix",
    "stale",
    "duplicate",
  ),
  body: bodySpec,
  contentType: fc.option(
    fc.oneof(
      fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/vnd.x+json",
        "text/json",
      ),
      headerValue,
    ),
    { nil: undefined },
  ),
  extraHeaders: fc.array(extraHeader, { maxLength: 12 }),
  // Sometimes one header far beyond Node's 16 KiB header limit (431), sometimes just large.
  hugeHeader: fc.oneof({ weight: 8, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 24_000 }) }),
  chunks: fc.option(fc.array(fc.integer({ min: 1, max: 9_000 }), { minLength: 1, maxLength: 8 }), { nil: undefined }),
  githubEvent: fc.constantFrom("push", "issues", "ignored"),
});

function bodyBytes(spec: BodySpec): Buffer {
  switch (spec.kind) {
    case "object":
      return Buffer.from(JSON.stringify(spec.value));
    case "bytes":
      return Buffer.from(spec.value);
    case "deep":
      return Buffer.from(
        spec.objects ? `${'{"a":'.repeat(spec.depth)}1${"}".repeat(spec.depth)}` : `${"[".repeat(spec.depth)}${"]".repeat(spec.depth)}`,
      );
    case "large":
      return Buffer.from(JSON.stringify({ pad: "x".repeat(Math.max(0, spec.size - 10)) }));
    case "over-limit":
      return Buffer.alloc(spec.size, 0x61);
  }
}

// ---- building a request and what it deserves --------------------------------------------

interface Built {
  target: string;
  headers: [string, string][];
  body: Buffer;
  /** Independently computed: does the request carry a valid credential for its route? */
  signed: "yes" | "no" | "unknown";
}

/** Corrupts a valid signature the way `mode` says; undefined means "leave the header out". */
function corrupt(sig: string, mode: Mode, hex: boolean): string | undefined {
  switch (mode) {
    case "missing":
      return undefined;
    case "wrong-length":
      return sig.slice(0, Math.max(1, sig.length - 3));
    case "wrong-encoding":
      return hex ? Buffer.from(sig, "hex").toString("base64") : Buffer.from(sig, "base64").toString("hex");
    default:
      return sig;
  }
}

function build(c: Case, now: number): Built {
  let body = bodyBytes(c.body);
  const headers: [string, string][] = [];
  let target = c.route === "unknown" ? "/hooks/nowhere" : `/hooks/${c.route}`;
  let signed: Built["signed"] = c.mode === "valid" ? "yes" : "no";
  const ts = Math.floor(now / 1000) - (c.mode === "stale" ? 3_600 : 0);
  const secretFor = (real: string) => (c.mode === "wrong-secret" ? `${real}-not` : real);
  switch (c.route) {
    case "github": {
      const sig = githubSignature(secretFor(GH), body).slice("sha256=".length);
      const value = corrupt(sig, c.mode, true);
      headers.push(["X-GitHub-Event", c.githubEvent]);
      if (value !== undefined) {
        // Node joins repeated headers with ", ": a second value never makes a signature valid.
        if (c.mode === "duplicate") headers.push(["X-Hub-Signature-256", "sha256=00"]);
        headers.push(["X-Hub-Signature-256", `${c.mode === "wrong-prefix" ? "sha1=" : "sha256="}${value}`]);
      }
      if (c.mode === "stale") signed = "yes"; // GitHub signs no timestamp
      break;
    }
    case "stripe": {
      const { t, v1 } = stripeSignature(secretFor(STRIPE), body, ts);
      const value = corrupt(v1, c.mode, true);
      if (value !== undefined) {
        headers.push(["Stripe-Signature", `t=${t},${c.mode === "wrong-prefix" ? "v0" : "v1"}=${value}`]);
        // Stripe lists several v1 while a secret rolls: a joined duplicate may legitimately verify.
        if (c.mode === "duplicate") {
          headers.push(["Stripe-Signature", `t=${t},v1=${"0".repeat(64)}`]);
          signed = "unknown";
        }
      }
      break;
    }
    case "sw": {
      const id = `msg_${randomUUID()}`;
      const sig = standardWebhooksSignature(secretFor(SW), id, ts, body);
      const value = corrupt(sig, c.mode, false);
      headers.push(["webhook-id", id], ["webhook-timestamp", String(ts)]);
      if (value !== undefined) {
        headers.push(["webhook-signature", `${c.mode === "wrong-prefix" ? "v2" : "v1"},${value}`]);
        if (c.mode === "duplicate") {
          headers.push(["webhook-signature", "v1,AAAA"]);
          signed = "unknown"; // space-separated signature lists: any one may match
        }
      }
      break;
    }
    case "meraki": {
      // The secret travels in the body: a valid request is a JSON object carrying it.
      const base = c.body.kind === "object" ? c.body.value : {};
      const secret = c.mode === "valid" || c.mode === "stale" ? MERAKI : c.mode === "wrong-secret" ? `${MERAKI}x` : undefined;
      if (c.mode === "valid" || c.mode === "stale" || c.mode === "wrong-secret")
        body = Buffer.from(JSON.stringify({ ...base, sharedSecret: secret }));
      else if (c.mode === "wrong-length") body = Buffer.from(JSON.stringify({ ...base, sharedSecret: MERAKI.slice(1) }));
      else if (c.mode === "wrong-encoding")
        body = Buffer.from(JSON.stringify({ ...base, sharedSecret: Buffer.from(MERAKI).toString("base64") }));
      else if (c.mode === "wrong-prefix") body = Buffer.from(JSON.stringify({ ...base, sharedSecret: [MERAKI] }));
      else if (c.mode === "duplicate") {
        // JSON.parse keeps the last of two equal keys.
        body = Buffer.from(`{"sharedSecret":"${MERAKI}","sharedSecret":"nope"}`);
      }
      signed = c.mode === "valid" || c.mode === "stale" ? "yes" : "no";
      break;
    }
    case "token": {
      const value = corrupt(secretFor(TOKEN), c.mode, false);
      if (value !== undefined) {
        // Node keeps only the first Authorization header of a request.
        if (c.mode === "duplicate") headers.push(["Authorization", "Bearer nope"]);
        headers.push([
          "Authorization",
          `${c.mode === "wrong-prefix" ? "Token" : "Bearer"} ${c.mode === "wrong-encoding" ? Buffer.from(TOKEN).toString("base64") : value}`,
        ]);
      }
      if (c.mode === "stale") signed = "yes";
      break;
    }
    case "tokenq": {
      const value = c.mode === "wrong-encoding" ? Buffer.from(TOKEN).toString("hex") : corrupt(secretFor(TOKEN), c.mode, false);
      const params = new URLSearchParams({ other: "1" });
      // The first of repeated parameters counts.
      if (c.mode === "duplicate") params.append("key", "nope");
      if (value !== undefined) params.append(c.mode === "wrong-prefix" ? "Key" : "key", value);
      target += `?${params.toString()}`;
      if (c.mode === "stale") signed = "yes";
      break;
    }
    case "unknown":
      signed = "no";
      break;
  }
  if (c.contentType !== undefined) headers.push(["Content-Type", c.contentType]);
  for (const h of c.extraHeaders) headers.push(h);
  if (c.hugeHeader > 0) headers.push(["X-Huge", "h".repeat(c.hugeHeader)]);
  return { target, headers, body, signed };
}

function wire(c: Case, b: Built): Buffer {
  const framing: [string, string][] = c.chunks ? [["Transfer-Encoding", "chunked"]] : [["Content-Length", String(b.body.length)]];
  const headers: [string, string][] = [["Host", "127.0.0.1"], ["Connection", "close"], ...framing, ...b.headers];
  return requestBytes(c.method, b.target, headers, c.chunks ? chunked(b.body, c.chunks) : b.body);
}

// ---- the property -------------------------------------------------------------------------

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

describe("ingress under arbitrary requests (fast-check)", () => {
  let ingress: Ingress;
  const seed = Number(process.env.SWITCHYARD_FC_SEED ?? Math.floor(Math.random() * 2 ** 31));

  beforeAll(async () => {
    ingress = await startIngress(CONFIG);
  });
  afterAll(async () => {
    await ingress?.close();
  });

  it(`never answers 5xx, stores only validly signed events, stays within memory (seed ${seed})`, async () => {
    const accepted = new Set<string>();
    const statuses = new Map<number, number>();
    // Warm up the code paths and the store, so the memory baseline is not the cold start.
    for (let i = 0; i < 20; i++) {
      const c: Case = {
        route: "token",
        method: "POST",
        mode: "valid",
        body: { kind: "object", value: { i } },
        contentType: "application/json",
        extraHeaders: [],
        hugeHeader: 0,
        chunks: undefined,
        githubEvent: "push",
      };
      const answer = await rawRequest(ingress.port, [wire(c, build(c, Date.now()))]);
      expect(answer.status).toBe(202);
      accepted.add((JSON.parse(answer.body) as { id: string }).id);
    }
    const heapBefore = heapAfterGc();
    const rssBefore = process.memoryUsage().rss;
    let heapPeak = heapBefore;

    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const built = build(c, Date.now());
        const before = (await ingress.store.depth()).pending;
        const answer = await rawRequest(ingress.port, [wire(c, built)]);
        const after = (await ingress.store.depth()).pending;
        statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
        heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
        const context = `${answer.status} ${answer.body.slice(0, 200)}`;

        // Never a server error (no store fault is simulated here).
        expect(answer.status, context).toBeLessThan(500);
        // A connection may end without an answer only where the server refused the request
        // unread: closing on unread bytes resets the connection, and the reset can overtake the answer.
        const refusedUnread = c.body.kind === "over-limit" || c.hugeHeader > 0 || c.route === "unknown" || c.method !== "POST";
        if (answer.status === 0) expect(refusedUnread, context).toBe(true);
        // Exactly the 202s are stored, one delivery each, and only validly signed ones.
        expect(after - before, context).toBe(answer.status === 202 ? 1 : 0);
        if (answer.status === 202) {
          expect(built.signed, context).not.toBe("no");
          accepted.add((JSON.parse(answer.body) as { id: string }).id);
        }
        // And what should pass does: a validly signed, well-formed webhook is taken.
        const reachesRoute = c.route !== "unknown" && c.method === "POST" && c.hugeHeader === 0;
        const tooDeep = c.route !== "meraki" && c.body.kind === "deep" && c.body.depth > MAX_JSON_DEPTH;
        const wellFormed =
          reachesRoute &&
          c.githubEvent !== "ignored" &&
          (c.body.kind === "object" || c.body.kind === "large" || (c.body.kind === "deep" && !tooDeep));
        if (built.signed === "yes" && wellFormed) expect(answer.status, context).toBe(202);
        if (reachesRoute && built.body.length > BODY_LIMIT) expect([413, 0], context).toContain(answer.status);
        else if (reachesRoute && tooDeep) expect(answer.status, context).toBe(400);
        else if (reachesRoute && built.signed === "no") expect([400, 401], context).toContain(answer.status);
      }),
      { numRuns: RUNS, seed, endOnFailure: true },
    );

    const heapGrowth = heapAfterGc() - heapBefore;
    const rssGrowth = process.memoryUsage().rss - rssBefore;
    console.log(
      `ingress property: seed ${seed}, ${RUNS} runs, statuses ${JSON.stringify(Object.fromEntries(statuses))}, ` +
        `heap growth ${(heapGrowth / 2 ** 20).toFixed(1)} MiB (peak +${((heapPeak - heapBefore) / 2 ** 20).toFixed(1)} MiB), rss growth ${(rssGrowth / 2 ** 20).toFixed(1)} MiB`,
    );
    // Some of every kind of answer, or the generators are not doing their job.
    expect(statuses.get(202) ?? 0).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(401) ?? 0).toBeGreaterThan(RUNS / 20);
    // Every 202 is in the store, and nothing else.
    const stored = await ingress.store.events({ limit: 100_000 });
    expect(new Set(stored.map((e) => e.id))).toEqual(accepted);
    // Bounded memory: what 300 requests leave behind after GC, and what they held at the peak.
    expect(heapGrowth).toBeLessThan(16 * 2 ** 20);
    expect(heapPeak - heapBefore).toBeLessThan(256 * 2 ** 20);
    expect(rssGrowth).toBeLessThan(256 * 2 ** 20);
    // Every reserved body byte was given back.
    expect(ingress.budget.inUse).toBe(0);
  });
});
