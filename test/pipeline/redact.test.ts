import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { Config } from "../../src/config/schema.js";
import { buildRedactor, createRedactor, REDACTED, secretValues } from "../../src/pipeline/redact.js";

const target = (extra: Record<string, unknown>) => ({ name: "t", type: "http", url: "http://example.com/", ...extra });

describe("the redactor", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-redact-"));
  writeFileSync(join(dir, "gh.secret"), "secret-from-a-file\n");
  const config = {
    server: { admin_token: "admin-token-0123456789" },
    routes: [
      {
        name: "a",
        path: "/a",
        verify: { type: "github", secret: "github-secret-1" },
        targets: [target({ headers: { Authorization: "Bearer target-token-1", Title: "deploy" } })],
      },
      {
        name: "b",
        path: "/b",
        verify: { type: "stripe", secrets: ["whsec_new_one", "whsec_old_one"] },
        targets: [target({ url: "https://robot:p%40ss-word@example.com/x" })],
      },
      { name: "c", path: "/c", verify: { type: "gitea", secret_file: "gh.secret" }, targets: [target({})] },
      {
        name: "d",
        path: "/d",
        verify: { type: "none" },
        targets: [target({ headers: { "X-Api-Key": "api-key-value", "X-Custom": "custom-from-env" } })],
      },
    ],
  } as unknown as Config;
  // Before interpolation: X-Custom was written as a variable, Title literally.
  const raw = {
    routes: [{ targets: [{ headers: { Title: "deploy" } }] }, {}, {}, { targets: [{ headers: { "X-Custom": "${CUSTOM}" } }] }],
  };
  const redact = buildRedactor(config, dir, raw);

  it("collects every secret of the config: verify secrets, secret files, target headers, URL credentials, the admin token", () => {
    const values = secretValues(config, dir, raw);
    for (const v of [
      "admin-token-0123456789",
      "github-secret-1",
      "whsec_new_one",
      "whsec_old_one",
      "secret-from-a-file",
      "Bearer target-token-1",
      "target-token-1",
      "p@ss-word",
      `Basic ${Buffer.from("robot:p@ss-word").toString("base64")}`,
      "api-key-value",
      "custom-from-env",
    ]) {
      expect(values).toContain(v);
    }
    // A header that is neither named like a credential nor set from a variable is not a secret.
    expect(values).not.toContain("deploy");
  });

  it("masks them as they are, JSON-escaped and URL-encoded, and leaves the rest of the text alone", () => {
    const text = `HTTP 500: {"authorization":"Bearer target-token-1","x-api-key":"api-key-value","pw":"p@ss-word"} url=?k=p%40ss-word github-secret-1 deploy`;
    expect(redact(text)).toBe(
      `HTTP 500: {"authorization":"${REDACTED}","x-api-key":"${REDACTED}","pw":"${REDACTED}"} url=?k=${REDACTED} ${REDACTED} deploy`,
    );
    expect(redact("secret-from-a-file whsec_old_one admin-token-0123456789")).toBe(`${REDACTED} ${REDACTED} ${REDACTED}`);
  });

  it("does not mask values too short to be secrets, and treats regex characters literally", () => {
    const r = createRedactor(["abc", "a.b*c+d(e)", "$1-and-more"]);
    expect(r("abc a.b*c+d(e) aXbbbcd(e) $1-and-more")).toBe(`abc ${REDACTED} aXbbbcd(e) ${REDACTED}`);
    expect(createRedactor([])("nothing to hide")).toBe("nothing to hide");
  });
});
