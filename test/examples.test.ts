import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "./e2e/harness.js";

/** Every shipped config passes `switchyard check`, given the variables its comments name. */
const root = resolve(import.meta.dirname, "..");
const env = {
  GITHUB_WEBHOOK_SECRET: "s3cret",
  MERAKI_SHARED_SECRET: "meraki-secret",
  STRIPE_WEBHOOK_SECRET: "whsec_test",
  DEMO_TOKEN: "t0ken",
};
const files = [
  "config/switchyard.yaml",
  ...readdirSync(join(root, "examples"), { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => `examples/${d.name}/switchyard.yaml`),
];

describe("shipped configs", () => {
  it.each(files)("%s passes switchyard check", async (file) => {
    const r = await runCli(["check", "-c", join(root, file)], env);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/: ok \(/);
  });

  it("the GitHub recipe routes a signed push to its deploy script (dry run)", async () => {
    const r = await runCli(
      [
        "test",
        "github",
        "-c",
        join(root, "examples/github-deploy/switchyard.yaml"),
        "--body",
        join(root, "test/fixtures/github-push.json"),
        "-H",
        "X-GitHub-Event: push",
        "--sign",
        "--json",
      ],
      env,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { verification: string; routeFilter: string };
    expect(report.verification).toBe("ok");
    // The fixture pushes a tag, not main: the route filter says no.
    expect(report.routeFilter).toBe("no");
  });

  it("the Meraki recipe strips the shared secret before sending to ntfy (dry run)", async () => {
    const r = await runCli(
      [
        "test",
        "meraki",
        "-c",
        join(root, "examples/meraki-ntfy/switchyard.yaml"),
        "--body",
        join(root, "test/fixtures/meraki-alert.json"),
        "--json",
      ],
      env,
    );
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { verification: string; routeFilter: string };
    expect(report.verification).toBe("ok");
    expect(report.routeFilter).toBe("no"); // the sample is informational
  });
});
