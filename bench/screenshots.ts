import { spawn } from "node:child_process";
import { createHmac, randomUUID } from "node:crypto";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import type { Page } from "playwright-core";
import { launchBrowser } from "./browser.js";
import { CLI, REPO_ROOT } from "./paths.js";

/**
 * `npm run screenshots`: the console's pages as docs/console-*.png, against the built daemon
 * with realistic traffic (GitHub pushes, Stripe events, Meraki alerts; a target that fails,
 * refused requests, a bad reload). Run it after changing the console and look at every image.
 *
 * The overview's charts cover 24 hours, which a script cannot wait for: the day before is
 * written into the store's per-minute counters (as a day of that traffic leaves them) while the
 * daemon is stopped; everything else on the pages comes from real requests.
 */

const GITHUB_SECRET = "screenshot-github-secret";
const STRIPE_SECRET = "whsec_c2NyZWVuc2hvdC1zdHJpcGUtc2VjcmV0";
const MERAKI_SECRET = "screenshot-meraki-shared";
const ADMIN_TOKEN = "screenshot-admin-token-0123456789";
const OUT = join(REPO_ROOT, "docs");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function startSink(): Promise<{ url: string; close: () => void }> {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      n++;
      // The ntfy target is down: its deliveries retry and end up dead letters.
      if (req.url?.startsWith("/ntfy"))
        res.writeHead(503, { "content-type": "text/plain" }).end("ntfy: service unavailable (upstream timeout)");
      else setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(`{"ok":true,"n":${n}}`), 5 + (n % 7) * 9);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => server.close() };
}

function config(sink: string): string {
  return `
server: { listen: 127.0.0.1:0, admin: 127.0.0.1:0, admin_token: "${ADMIN_TOKEN}" }
store: { path: ./data/switchyard.db }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: ${GITHUB_SECRET} }
    dedupe: true
    targets:
      - name: deploy
        type: exec
        command: [/bin/cat]
        filter: body.ref = "refs/heads/main"
      - { name: chat, type: http, url: "${sink}/chat", transform: '{ "text": "push to " & body.repository.full_name }' }
  - name: stripe
    path: /hooks/stripe
    verify: { type: stripe, secret: ${STRIPE_SECRET} }
    targets:
      - { name: billing, type: http, url: "${sink}/billing" }
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret: ${MERAKI_SECRET} }
    targets:
      - { name: ntfy, type: http, url: "${sink}/ntfy/alerts", retry: { attempts: 3, backoff: 100ms, max_backoff: 300ms } }
`;
}

interface Daemon {
  url: string;
  admin: string;
  stop: () => Promise<void>;
}

async function startDaemon(file: string): Promise<Daemon> {
  const proc = spawn(process.execPath, [CLI, "serve", "-c", file], { stdio: ["ignore", "pipe", "inherit"] });
  const exited = new Promise<void>((r) => proc.once("exit", () => r()));
  let buffered = "";
  const started = await new Promise<{ listen: AddressInfo; admin: AddressInfo }>((resolve, reject) => {
    proc.once("exit", (code) => reject(new Error(`the daemon exited with ${code}`)));
    proc.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      buffered += chunk;
      for (const line of buffered.split("\n")) {
        if (line.includes('"switchyard started"')) resolve(JSON.parse(line) as { listen: AddressInfo; admin: AddressInfo });
      }
      buffered = buffered.slice(buffered.lastIndexOf("\n") + 1);
    });
  });
  return {
    url: `http://127.0.0.1:${started.listen.port}`,
    admin: `http://127.0.0.1:${started.admin.port}`,
    stop: () => {
      proc.kill("SIGTERM");
      return exited;
    },
  };
}

/** A POST as a provider sends it: only the headers given (fetch would add its own). */
function postJson(base: string, path: string, body: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${base}${path}`,
      { method: "POST", headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers } },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/**
 * The day before, in the per-minute counters: GitHub pushes in working hours, a steady trickle
 * of Stripe events, a few Meraki alerts, and the ntfy target failing for the last 40 minutes.
 */
function seedHistory(dbFile: string, now: number): void {
  const db = new Database(dbFile);
  const add = db.prepare(
    "INSERT INTO counts (minute, route, target, name, n) VALUES (?, ?, ?, ?, ?) ON CONFLICT (minute, route, target, name) DO UPDATE SET n = n + excluded.n",
  );
  const MINUTE = 60_000;
  const last = Math.floor(now / MINUTE) * MINUTE - 2 * MINUTE;
  let seed = 7;
  const random = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  const poisson = (mean: number) => {
    let n = 0;
    for (let p = Math.exp(-mean), s = random(); s > p; s *= random()) n++;
    return n;
  };
  const latency = (route: string, target: string, minute: number, n: number, typical: number) => {
    for (let i = 0; i < n; i++) {
      const ms = typical * (0.5 + random() * (random() < 0.05 ? 8 : 1.5));
      const bound = [5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000].find((b) => ms <= b) ?? "inf";
      add.run(minute, route, target, `ms_le_${bound}`, 1);
    }
  };
  db.transaction(() => {
    for (let minute = last - 24 * 60 * MINUTE; minute <= last; minute += MINUTE) {
      const hour = new Date(minute).getHours();
      const busy = hour >= 8 && hour <= 19 ? 1 : 0.15;
      const pushes = poisson(1.6 * busy);
      const refused = random() < 0.02 ? 1 : 0;
      const stripe = poisson(0.35);
      const alerts = random() < 0.03 ? 1 : 0;
      const ntfyDown = minute > last - 40 * MINUTE;
      if (pushes) {
        add.run(minute, "github", "", "accepted", pushes);
        add.run(minute, "github", "chat", "delivered", pushes);
        latency("github", "chat", minute, pushes, 60);
        const deploys = Math.ceil(pushes * 0.6);
        add.run(minute, "github", "deploy", "delivered", deploys);
        add.run(minute, "github", "deploy", "skipped", pushes - deploys);
        latency("github", "deploy", minute, deploys, 700);
      }
      if (refused) add.run(minute, "github", "", "rejected", refused);
      if (stripe) {
        add.run(minute, "stripe", "", "accepted", stripe);
        add.run(minute, "stripe", "billing", "delivered", stripe);
        latency("stripe", "billing", minute, stripe, 120);
      }
      if (alerts) {
        add.run(minute, "meraki", "", "accepted", alerts);
        add.run(minute, "meraki", "ntfy", ntfyDown ? "retry" : "delivered", alerts);
        latency("meraki", "ntfy", minute, alerts, 40);
      }
    }
  })();
  db.close();
}

async function traffic(url: string): Promise<void> {
  const post = (path: string, body: string, headers: Record<string, string>) => postJson(url, path, body, headers);
  const repos = ["homelab/infra", "homelab/dashboard", "me/app", "me/dotfiles"];
  for (let i = 0; i < 24; i++) {
    const body = JSON.stringify({
      ref: i % 3 ? "refs/heads/main" : "refs/heads/feature/login",
      before: randomUUID().replaceAll("-", "").slice(0, 40),
      after: randomUUID().replaceAll("-", "").slice(0, 40),
      repository: { full_name: repos[i % repos.length], private: i % 2 === 0 },
      pusher: { name: "octocat", email: "octocat@example.com" },
      head_commit: { message: ["Fix the login redirect", "Bump dependencies", "Add health check", "Tidy README"][i % 4] },
    });
    const sig = createHmac("sha256", GITHUB_SECRET).update(body).digest("hex");
    await post("/hooks/github", body, {
      "x-hub-signature-256": `sha256=${sig}`,
      "x-github-event": "push",
      "x-github-delivery": randomUUID(),
      "user-agent": "GitHub-Hookshot/a1b2c3d",
    });
    if (i % 4 === 0) {
      const t = Math.floor(Date.now() / 1000);
      const event = JSON.stringify({
        id: `evt_${randomUUID().replaceAll("-", "").slice(0, 24)}`,
        type: ["invoice.paid", "customer.subscription.updated", "charge.refunded"][i % 3],
        data: { object: { id: `in_${i}`, amount_paid: 1200 + i * 100, currency: "eur" } },
      });
      const v1 = createHmac("sha256", STRIPE_SECRET).update(`${t}.${event}`).digest("hex");
      await post("/hooks/stripe", event, {
        "stripe-signature": `t=${t},v1=${v1}`,
        "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
      });
    }
    if (i % 6 === 0) {
      await post(
        "/hooks/meraki",
        JSON.stringify({
          sharedSecret: MERAKI_SECRET,
          alertId: `6435${i}`,
          alertType: "APs went down",
          networkName: "Home",
          deviceName: "Office AP",
        }),
        { "user-agent": "Cisco Meraki" },
      );
    }
    // Refused: an old secret on GitHub's side, a curl without a signature, an oversized push.
    if (i % 5 === 0)
      await post("/hooks/github", "{}", { "x-hub-signature-256": "sha256=deadbeef", "user-agent": "GitHub-Hookshot/a1b2c3d" });
    if (i % 8 === 0) await post("/hooks/stripe", "{}", { "user-agent": "curl/8.5.0" });
    await sleep(60);
  }
}

async function shot(page: Page, name: string, path: string, ready: (p: Page) => Promise<unknown>, fullPage = true): Promise<void> {
  await page.goto(path);
  await ready(page);
  await sleep(300);
  const file = join(OUT, `console-${name}.png`);
  await page.screenshot({ path: file, fullPage });
  process.stderr.write(`wrote ${file}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-screenshots-"));
  mkdirSync(OUT, { recursive: true });
  const sink = await startSink();
  const file = join(dir, "switchyard.yaml");
  writeFileSync(file, config(sink.url));
  // Once to create the store, then again over a day of counters.
  await (await startDaemon(file)).stop();
  seedHistory(join(dir, "data", "switchyard.db"), Date.now());
  const daemon = await startDaemon(file);
  const browser = await launchBrowser();
  try {
    await traffic(daemon.url);
    // Give the failing target time to use up its attempts.
    await sleep(3000);
    // An edit with a typo: the reload fails, the overview shows the error and its line, the old config serves.
    writeFileSync(file, config(sink.url).replace("      - { name: billing,", "      - { nmae: billing,"));
    for (let i = 0; i < 100; i++) {
      const status = await fetch(`${daemon.admin}/api/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
      if (((await status.json()) as { lastReload?: { ok: boolean } | null }).lastReload?.ok === false) break;
      await sleep(100);
    }
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    // The token as the page keeps it after asking once: the screenshots show the pages, not the prompt.
    await page.addInitScript({ content: `sessionStorage.setItem("switchyard.adminToken", ${JSON.stringify(ADMIN_TOKEN)})` });
    const a = daemon.admin;
    await shot(page, "overview", `${a}/`, (p) => p.locator("main table").nth(1).waitFor());
    // A page of 50 rows: the first screenful shows what it looks like.
    await shot(page, "events", `${a}/#/events`, (p) => p.locator("table.events tbody tr").first().waitFor(), false);
    const eventLink = page.locator("table.events tbody tr", { hasText: "meraki" }).first().locator("a");
    const eventPath = await eventLink.getAttribute("href");
    await shot(page, "event", `${a}/${eventPath}`, (p) => p.locator("table.attempts").first().waitFor());
    await shot(page, "dead-letters", `${a}/#/dead-letters`, (p) => p.locator("main tbody tr").first().waitFor());
    await shot(page, "refused", `${a}/#/refused`, (p) => p.locator("main tbody tr").first().waitFor());
    await shot(page, "try", `${a}/#/try?route=github`, async (p) => {
      await p.getByLabel("Payload").fill(JSON.stringify({ ref: "refs/heads/main", repository: { full_name: "me/app" } }, null, 2));
      await p.getByLabel(/Headers/).fill("X-GitHub-Event: push");
      await p.getByRole("button", { name: "Run" }).click();
      await p.getByRole("heading", { name: "Result" }).waitFor();
    });
  } finally {
    await browser.close();
    await daemon.stop();
    sink.close();
  }
}

await main();
