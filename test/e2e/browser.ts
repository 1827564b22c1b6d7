import { type Browser, chromium, type Page } from "playwright-core";

/**
 * Debian's Chromium driven by playwright-core (no browser download): `.ci/run` installs it with
 * apt when /usr/bin/chromium is missing. The flags keep it off the network and quiet on a CI box.
 */
export const CHROMIUM = process.env.SWITCHYARD_CHROMIUM ?? "/usr/bin/chromium";

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

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
