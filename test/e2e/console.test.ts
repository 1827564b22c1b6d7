import { execFile } from "node:child_process";
import { createHmac } from "node:crypto";
import { promisify } from "node:util";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type PageWatch, watchPage } from "./browser.js";
import { post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/**
 * The console in a real browser against the built daemon: what arrived, what was refused, what
 * each target answered, and a dead letter replayed by a click until the target has it. Webhook
 * bodies and headers are hostile: a payload with markup must show as text and run nothing.
 * One browser and one daemon for the file; the tests run in order and build on each other.
 */

const SECRET = "console-github-secret";
const ADMIN_TOKEN = "console-admin-token-0123456789";
const HOSTILE = `<img src=x onerror="alert('img')"><script>alert('script')</script>`;

function github(body: unknown, event = "push"): [string, Record<string, string>] {
  const text = JSON.stringify(body);
  const sig = createHmac("sha256", SECRET).update(text).digest("hex");
  return [text, { "x-hub-signature-256": `sha256=${sig}`, "x-github-event": event, "x-github-delivery": crypto.randomUUID() }];
}

// A loaded CI machine renders slowly: each test gets a minute, and each Playwright call gives up
// after 10 s so that an expect.poll around it tries again instead of waiting out the test.
describe("e2e: the console in a browser", { timeout: 60_000 }, () => {
  let sink: Sink;
  let daemon: RunningDaemon;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  // The flaky target fails until a test lets it through.
  let flakyUp = false;
  const ids: Record<string, string> = {};

  const send = async (body: unknown, name: string, headers: Record<string, string> = {}) => {
    const [text, signed] = github(body);
    const res = await post(`${daemon.url}/hooks/github`, text, { ...signed, ...headers });
    expect(res.status, res.body).toBe(202);
    ids[name] = (res.json() as { id: string }).id;
    return ids[name];
  };

  beforeAll(async () => {
    sink = await startSink();
    sink.respond = (req, res) => {
      if (req.url.startsWith("/flaky") && !flakyUp) res.writeHead(500, { "content-type": "text/plain" }).end("flaky is down");
      else res.writeHead(200).end("ok");
    };
    const dir = tempDir();
    const config = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:0, admin: 127.0.0.1:0, admin_token: "${ADMIN_TOKEN}" }
store: { path: ./data/switchyard.db }
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: ${SECRET} }
    targets:
      - { name: notify, type: http, url: "${sink.url}/notify" }
  - name: alerts
    path: /hooks/alerts
    verify: { type: token, secret: alerts-token-0123 }
    targets:
      - { name: flaky, type: http, url: "${sink.url}/flaky", retry: { attempts: 2, backoff: 100ms, max_backoff: 200ms } }
`,
    );
    daemon = await startDaemon(config);
    await send({ repository: { full_name: "me/app" }, ref: "refs/heads/main" }, "app1");
    await send({ repository: { full_name: "me/other" }, ref: "refs/heads/main" }, "other");
    await send({ repository: { full_name: "me/app" }, ref: "refs/heads/dev" }, "app2");
    await send({ repository: { full_name: HOSTILE }, note: HOSTILE }, "hostile", { "x-hostile": HOSTILE });
    // Refused: a wrong signature (401), and a wrong token on the other route.
    expect((await post(`${daemon.url}/hooks/github`, "{}", { "x-hub-signature-256": "sha256=00" })).status).toBe(401);
    expect((await post(`${daemon.url}/hooks/alerts`, "{}", { authorization: "Bearer wrong" })).status).toBe(401);
    // Dead-lettered: two failed attempts at the flaky target.
    const alert = await post(`${daemon.url}/hooks/alerts`, JSON.stringify({ alert: "disk full" }), {
      authorization: "Bearer alerts-token-0123",
    });
    expect(alert.status).toBe(202);
    ids.alert = (alert.json() as { id: string }).id;
    await waitFor(
      async () => {
        const res = await fetch(`${daemon.adminUrl}/api/v1/dead-letters`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
        return res.ok && (await res.text()).includes(ids.alert ?? "-");
      },
      "the alert to be dead-lettered",
      20_000,
    );
    await waitFor(() => sink.requests.filter((r) => r.url === "/notify").length === 4, "the github events to be delivered");
    browser = await launchBrowser();
    const context = await browser.newContext({ permissions: ["clipboard-read", "clipboard-write"] });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    watch = watchPage(page);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await sink?.close();
  });

  const main = () => page.locator("main");
  const nav = (name: string) => page.getByRole("navigation").getByRole("link", { name, exact: true }).click();

  it("serves the page without the token (it holds no data), the bundles gzipped and cached for good, under the CSP", async () => {
    const html = await fetch(`${daemon.adminUrl}/`);
    expect(html.status).toBe(200);
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(html.headers.get("cache-control")).toBe("no-cache");
    expect(html.headers.get("content-security-policy")).toBe("default-src 'self'");
    expect(html.headers.get("x-frame-options")).toBe("DENY");
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(await html.text())?.[1];
    const js = await fetch(`${daemon.adminUrl}${script}`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-encoding")).toBe("gzip");
    expect(js.headers.get("cache-control")).toBe("public, max-age=31536000, immutable");
    expect(js.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    const again = await fetch(`${daemon.adminUrl}${script}`, {
      // fetch adds Cache-Control: no-cache to a conditional request unless told otherwise.
      headers: { "if-none-match": js.headers.get("etag") ?? "", "cache-control": "max-age=0" },
    });
    expect(again.status).toBe(304);
    expect((await fetch(`${daemon.adminUrl}/console/assets/nothing.js`)).status).toBe(404);
    expect((await fetch(`${daemon.adminUrl}/api/v1/events`)).status).toBe(401);
  });

  it("asks for the admin token (again when refused), then shows the overview of every route", async () => {
    await page.goto(`${daemon.adminUrl}/`);
    // A wrong token is refused and asked for again.
    await page.getByLabel("Token", { exact: true }).fill(`${ADMIN_TOKEN}-wrong`);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect.poll(() => page.getByRole("alert").filter({ hasText: "refused that token" }).count(), { timeout: 15_000 }).toBe(1);
    await page.getByLabel("Token", { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Continue" }).click();
    await expect
      .poll(
        () =>
          main()
            .getByRole("row", { name: /github/ })
            .count(),
        { timeout: 15_000 },
      )
      .toBeGreaterThan(0);
    await expect
      .poll(() =>
        main()
          .getByRole("row", { name: /alerts/ })
          .count(),
      )
      .toBeGreaterThan(0);
    // Only the API's 401 before the token was entered; nothing else went wrong.
    expect(watch.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
    watch.problems.length = 0;
    // Kept for this tab: a reload asks no more.
    await page.reload();
    await expect.poll(() => main().getByRole("heading", { name: "Overview" }).count()).toBe(1);
    expect(await page.getByLabel("Token", { exact: true }).count()).toBe(0);
  });

  it("lists events newest first, filters them by route, and searches them with JSONata", async () => {
    await nav("Events");
    const rows = main().locator("table.events tbody tr");
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(5);
    expect(await rows.first().textContent()).toContain(ids.alert);
    expect(await rows.last().textContent()).toContain(ids.app1);

    await page.getByLabel("Route", { exact: true }).selectOption("github");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => rows.count()).toBe(4);
    for (const text of await rows.allTextContents()) expect(text).toContain("github");

    await page.getByLabel(/Search/).fill('body.repository.full_name = "me/app"');
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => rows.count()).toBe(2);
    const shown = (await rows.allTextContents()).join("\n");
    expect(shown).toContain(ids.app1);
    expect(shown).toContain(ids.app2);
    expect(shown).not.toContain(ids.other);

    await page.getByLabel(/Search/).fill("body.(");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect.poll(() => main().getByRole("alert").count()).toBe(1);
    watch.problems = watch.problems.filter((p) => !/status of 400/.test(p));
    await page.getByRole("button", { name: "Clear" }).click();
    await expect.poll(() => rows.count()).toBe(5);
  });

  it("shows new events as they arrive when the live tail is on", async () => {
    await page.getByLabel("Live tail").check();
    await expect.poll(() => main().getByText("following").count(), { timeout: 15_000 }).toBe(1);
    const id = await send({ repository: { full_name: "me/live" } }, "live");
    const rows = main().locator("table.events tbody tr");
    await expect.poll(async () => (await rows.first().textContent()) ?? "", { timeout: 15_000 }).toContain(id);
    await expect.poll(() => main().locator("[aria-live]").first().textContent()).toMatch(/1 new event/);
    await page.getByLabel("Live tail").uncheck();
  });

  it("shows a hostile payload as text: no element injected, no script run", async () => {
    await page.goto(`${daemon.adminUrl}/#/events/${ids.hostile}`);
    const body = main().getByTitle("Request body");
    await expect.poll(() => body.textContent(), { timeout: 15_000 }).toContain(HOSTILE.replaceAll('"', '\\"'));
    await expect
      .poll(() =>
        main()
          .getByRole("row", { name: /x-hostile/ })
          .textContent(),
      )
      .toContain(HOSTILE);
    expect(await page.locator("main img, main script").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(watch.dialogs).toEqual([]);
  });

  it("copies a signed curl that sends the event to its route again, and the route takes it", async () => {
    await page.goto(`${daemon.adminUrl}/#/events/${ids.app1}`);
    await page.getByRole("button", { name: "Copy signed curl" }).click();
    const shown = main().getByTitle("Signed curl command");
    await expect.poll(() => shown.textContent(), { timeout: 15_000 }).toMatch(/^curl /);
    const command = (await shown.textContent()) ?? "";
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(command);
    expect(command).toMatch(/x-hub-signature-256: sha256=[0-9a-f]{64}/i);
    expect(command).toContain(`${daemon.url}/hooks/github`);
    expect(command).not.toContain(SECRET);
    // The command as a user pastes it into a shell.
    const { stdout } = await promisify(execFile)("sh", ["-c", command]);
    expect(JSON.parse(stdout)).toMatchObject({ status: "accepted" });
  });

  it("lists every attempt of a delivery, with the status the target answered", async () => {
    await page.goto(`${daemon.adminUrl}/#/events/${ids.alert}`);
    const attempts = main().locator("table.attempts tbody tr");
    await expect.poll(() => attempts.count(), { timeout: 15_000 }).toBe(2);
    for (const text of await attempts.allTextContents()) expect(text).toContain("500");
    expect(await main().getByText("flaky is down").count()).toBeGreaterThan(0);
  });

  it("replays a dead letter by a click, and the target then has it", async () => {
    flakyUp = true;
    await nav("Dead letters");
    const box = main().getByRole("checkbox", { name: new RegExp(`event ${ids.alert}`) });
    await box.check({ timeout: 15_000 });
    await page.getByRole("button", { name: "Replay selected (1)" }).click();
    await expect.poll(() => main().locator("output").textContent(), { timeout: 15_000 }).toMatch(/Replayed 1/);
    await waitFor(() => sink.requests.some((r) => r.url === "/flaky" && r.body.includes("disk full")), "the replayed alert at the target");
    await expect
      .poll(
        () =>
          main()
            .getByText(/No dead letters/)
            .count(),
        { timeout: 15_000 },
      )
      .toBe(1);
  });

  it("lists refused requests and says they are kept in memory only", async () => {
    await nav("Refused requests");
    await expect.poll(() => main().locator("tbody tr").count(), { timeout: 15_000 }).toBeGreaterThanOrEqual(2);
    const text = (await main().textContent()) ?? "";
    expect(text).toContain("in memory");
    expect(text).toContain("alerts");
    expect(text).not.toContain("Bearer wrong");
  });

  it("tries a route: the dry run's answer and what each target would get", async () => {
    await nav("Try a route");
    await page.getByLabel("Route", { exact: true }).selectOption("github");
    await page.getByLabel("Payload").fill('{"repository":{"full_name":"me/try"}}');
    await page.getByRole("button", { name: "Run" }).click();
    await expect.poll(() => main().getByRole("definition").first().textContent(), { timeout: 15_000 }).toBe("202");
    expect(await main().getByRole("article", { name: "Target notify" }).textContent()).toContain(`${sink.url}/notify`);
    // Unsigned, the route refuses it, as the daemon would.
    await page.getByLabel("Sign it with the route's secret").uncheck();
    await page.getByRole("button", { name: "Run" }).click();
    await expect.poll(() => main().getByRole("definition").first().textContent(), { timeout: 15_000 }).toBe("401");
  });

  it("works from the keyboard: a skip link first, focus visible, every control labelled, every table with headers", async () => {
    // A fresh load (a change of the hash alone moves focus to the page's content, by design).
    await page.goto(`${daemon.adminUrl}/#/events`);
    await page.reload();
    await main().locator("table.events").waitFor({ timeout: 15_000 });
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Skip to content");
    await page.keyboard.press("Enter");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("main");
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.id)).toBe("f-route");
    expect(await page.evaluate(() => getComputedStyle(document.activeElement as Element).outlineStyle)).toBe("solid");
    for (const hash of ["#/", "#/events", `#/events/${ids.alert}`, "#/dead-letters", "#/refused", "#/try"]) {
      await page.goto(`${daemon.adminUrl}/${hash}`);
      await main().locator("h1").waitFor({ timeout: 15_000 });
      await main().locator("table, .empty, form.try").first().waitFor({ timeout: 15_000 });
      const problems = await page.evaluate(() => {
        const out: string[] = [];
        for (const el of document.querySelectorAll("input, select, textarea, button")) {
          const labels = (el as HTMLInputElement).labels;
          const named = (labels && labels.length > 0) || el.getAttribute("aria-label") || (el.textContent ?? "").trim();
          if (!named) out.push(`unlabelled ${el.outerHTML}`);
        }
        for (const table of document.querySelectorAll("table:not([role=presentation])")) {
          if (!table.querySelector("thead th")) out.push(`no header row: ${table.outerHTML.slice(0, 80)}`);
        }
        return out;
      });
      expect(problems, hash).toEqual([]);
    }
  });

  it("left nothing in the browser console: no error, no CSP violation", () => {
    expect(watch.problems).toEqual([]);
    expect(watch.dialogs).toEqual([]);
  });
});
