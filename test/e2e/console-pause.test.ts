import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, type PageWatch, watchPage } from "./browser.js";
import { post, type RunningDaemon, type Sink, startDaemon, startSink, tempDir, waitFor, writeConfig } from "./harness.js";

/** A paused target shows as paused in the console, and its Resume button (a write: the admin token applies) resumes it. */

const ADMIN_TOKEN = "pause-admin-token-0123456789";

describe("e2e: resuming a paused target in the console", { timeout: 90_000 }, () => {
  let sink: Sink;
  let daemon: RunningDaemon;
  let browser: Browser;
  let page: Page;
  let watch: PageWatch;
  let up = false;

  beforeAll(async () => {
    sink = await startSink();
    sink.respond = (_req, res) => {
      if (up) res.writeHead(200).end("ok");
      else res.writeHead(503).end("backend is down");
    };
    const config = writeConfig(
      tempDir(),
      `
server: { listen: 127.0.0.1:0, admin: 127.0.0.1:0, admin_token: "${ADMIN_TOKEN}" }
store: { path: ./data/switchyard.db }
routes:
  - name: app
    path: /hooks/app
    verify: { type: token, secret: app-token-0123 }
    targets:
      - name: backend
        type: http
        url: "${sink.url}/in"
        retry: { attempts: 1000, backoff: 50ms, max_backoff: 100ms }
        # No probe within the test: only the button resumes it.
        pause_after: { failures: 2, for: 100ms, probe: 10m }
`,
    );
    daemon = await startDaemon(config);
    expect((await post(`${daemon.url}/hooks/app`, '{"n":1}', { authorization: "Bearer app-token-0123" })).status).toBe(202);
    await waitFor(() => daemon.logs.some((l) => String(l.msg).startsWith("target paused")), "the pause", 30_000);
    browser = await launchBrowser();
    page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(10_000);
    watch = watchPage(page);
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await sink?.close();
  });

  it("shows the target paused, and resumes it with the Resume button", async () => {
    await page.goto(`${daemon.adminUrl}/`);
    await page.getByLabel("Token", { exact: true }).fill(ADMIN_TOKEN);
    await page.getByRole("button", { name: "Continue" }).click();
    const row = page.locator("main").getByRole("row", { name: /app \/ backend/ });
    await expect.poll(() => row.getByText("paused", { exact: true }).count(), { timeout: 20_000 }).toBe(1);
    expect(await row.getByText("paused", { exact: true }).getAttribute("title")).toContain("backend is down");

    up = true;
    await row.getByRole("button", { name: "Resume app / backend" }).click();
    await expect.poll(() => page.locator("main output.status").textContent(), { timeout: 15_000 }).toContain("Resumed app / backend");
    await waitFor(() => sink.requests.length === 1, "the waiting delivery after the resume", 20_000);
    expect(JSON.parse(sink.requests[0]?.body ?? "{}")).toEqual({ n: 1 });
    await expect.poll(() => row.getByText("paused", { exact: true }).count(), { timeout: 20_000 }).toBe(0);
    expect(watch.problems.filter((p) => !/status of 401/.test(p))).toEqual([]);
  });
});
