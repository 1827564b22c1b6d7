import type { Page } from "playwright-core";

export { CHROMIUM, launchBrowser } from "../../bench/browser.js";

export interface PageWatch {
  /** Console errors and warnings (CSP violations are reported as errors), uncaught exceptions. */
  problems: string[];
  /** alert/confirm/prompt dialogs the page opened: a hostile payload that ran. */
  dialogs: string[];
}

/** Records what the page says went wrong; dialogs are dismissed so the page never blocks. */
export function watchPage(page: Page): PageWatch {
  const watch: PageWatch = { problems: [], dialogs: [] };
  page.on("console", (m) => {
    if (m.type() === "error" || m.type() === "warning") watch.problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => watch.problems.push(`pageerror: ${e.message}`));
  page.on("dialog", (d) => {
    watch.dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss();
  });
  return watch;
}
