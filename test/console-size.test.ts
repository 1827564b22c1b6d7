import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";

/**
 * The console's whole download, as built into dist/console (`npm test` builds first): at most
 * 200 KB gzipped, and nothing that makes a browser fetch from anywhere but the daemon (homelabs
 * are often offline; a CDN would also be a third party seeing the admin's traffic).
 */

const DIR = resolve(import.meta.dirname, "../dist/console");
const LIMIT = 200 * 1024;

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

describe("the built console", () => {
  const all = files(DIR);

  it("is built, with hashed bundles", () => {
    const names = all.map((f) => f.slice(DIR.length + 1));
    expect(names).toContain("index.html");
    expect(names.some((n) => /^assets\/index-[\w-]+\.js$/.test(n))).toBe(true);
    expect(names.some((n) => /^assets\/index-[\w-]+\.css$/.test(n))).toBe(true);
  });

  it("weighs at most 200 KB gzipped, all files together", () => {
    const gzipped = all.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
    expect(gzipped).toBeLessThanOrEqual(LIMIT);
  });

  it("loads nothing from another origin, and has no inline script or style", () => {
    const html = readFileSync(join(DIR, "index.html"), "utf8");
    for (const [, attr, url] of html.matchAll(/\b(src|href)="([^"]*)"/g)) {
      expect(url, `${attr}=${url}`).toMatch(/^(\/console\/|#)/);
    }
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const css of all.filter((f) => f.endsWith(".css"))) {
      expect(readFileSync(css, "utf8")).not.toMatch(/@import|url\((?!["']?(data:|\/console\/))/);
    }
  });
});
