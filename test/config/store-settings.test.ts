import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadStoreSettings } from "../../src/config/store-settings.js";
import { ConfigError } from "../../src/errors.js";

/** A config file in its own folder, as `switchyard events -c FILE` reads it. */
function file(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "switchyard-store-settings-")), "switchyard.yaml");
  writeFileSync(path, text);
  return path;
}

function errorsOf(path: string, env: NodeJS.ProcessEnv): string[] {
  try {
    loadStoreSettings(path, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => `${i.place}: ${i.message}`);
    throw err;
  }
  return [];
}

const routes = `
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: "\${GITHUB_WEBHOOK_SECRET}" }
    filter: headers."x-github-event" = "push"
    targets:
      - name: notify
        type: http
        url: "\${NTFY_URL}"
        headers: { Authorization: "Bearer \${NTFY_TOKEN}" }
      - { name: deploy, type: exec, command: [/no/such/deploy.sh] }
  - name: meraki
    path: /hooks/meraki
    verify: { type: shared-secret, secret_file: /no/such/secret }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;

describe("loadStoreSettings: the config as the store verbs need it", () => {
  it("needs none of the routes' secrets, secret files or commands, nor the admin token", () => {
    const path = file(
      `server: { admin_token: "\${ADMIN_TOKEN}", listen: 127.0.0.1:8080 }\nstore: { path: ./data/s.db, retention: 2d }\n${routes}`,
    );
    expect(loadStoreSettings(path, {})).toEqual({
      file: path,
      store: { type: "sqlite", path: join(path, "..", "data", "s.db"), retentionMs: 2 * 86_400_000 },
    });
  });

  it("takes the routes' variables set but empty (an unset secret in a systemd EnvironmentFile) as not needed", () => {
    const path = file(`store: { path: ./data/s.db }\n${routes}`);
    const empty = { GITHUB_WEBHOOK_SECRET: "", NTFY_URL: "", NTFY_TOKEN: "" };
    expect(errorsOf(path, empty)).toEqual([]);
  });

  it("requires the store's own variables, by name", () => {
    const path = file(`store: { type: redis, url: "redis://:\${REDIS_PASSWORD}@127.0.0.1:6379", prefix: "\${PREFIX:-sy}" }\n${routes}`);
    expect(errorsOf(path, {})).toEqual([
      "store.url: environment variable REDIS_PASSWORD is not set (write ${REDIS_PASSWORD:-default} for a default)",
    ]);
    expect(loadStoreSettings(path, { REDIS_PASSWORD: "pw" }).store).toEqual({
      type: "redis",
      url: "redis://:pw@127.0.0.1:6379",
      prefix: "sy",
      retentionMs: 7 * 86_400_000,
      allowVolatile: false,
    });
  });

  it("still validates the whole file: unknown keys and broken shapes anywhere are errors", () => {
    const broken = file(
      `store: { path: ./s.db }\nroutes:\n  - { name: gh, pth: /gh, verify: { type: none }, targets: [{ name: t, type: http, url: "\${U}" }] }\n`,
    );
    expect(errorsOf(broken, {})).toEqual(["routes[0].path: is required", `routes[0].pth: unknown key "pth" (did you mean "path"?)`]);
    expect(errorsOf(file("store: { type: redis }\nroutes: []\n"), {})).toEqual(["store.url: is required for a redis store"]);
    expect(errorsOf(file("store: { path: ./s.db, url: redis://x }\nroutes: []\n"), {})).toEqual([
      "store.url: is for the redis store; a sqlite store takes path",
    ]);
  });
});
