import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pino from "pino";
import { describe, expect, it } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { ConfigError, type ConfigIssue } from "../../src/errors.js";

const log = pino({ level: "silent" });

function issuesOf(text: string, env: NodeJS.ProcessEnv = {}, file = join(tmpdir(), "switchyard.yaml")): ConfigIssue[] {
  try {
    compileConfig(parseConfig(text, file, env), { log, env });
  } catch (err) {
    if (err instanceof ConfigError) return [...err.issues];
    throw err;
  }
  return [];
}

const valid = `
server:
  listen: 127.0.0.1:8080
routes:
  - name: github
    path: /hooks/github
    verify:
      type: github
      secret: \${GITHUB_SECRET}
    filter: headers."x-github-event" = "push"
    targets:
      - name: notify
        type: http
        url: http://127.0.0.1:9/deploys
        headers: { Authorization: "Bearer \${NTFY_TOKEN:-none}" }
        transform: '{ "text": "push to " & body.repository.full_name }'
`;

describe("config loading", () => {
  it("accepts a valid file, interpolating ${VAR} and ${VAR:-default}", () => {
    const loaded = parseConfig(valid, "x.yaml", { GITHUB_SECRET: "s3cret" });
    const route = loaded.config.routes[0]!;
    expect((route.verify as Record<string, unknown>).secret).toBe("s3cret");
    expect((route.targets[0] as Record<string, unknown>).headers).toEqual({ Authorization: "Bearer none" });
  });

  it("never interpolates JSONata fields", () => {
    const text = valid.replace(`transform: '{ "text": "push to " & body.repository.full_name }'`, `transform: '"\${NOPE}"'`);
    const loaded = parseConfig(text, "x.yaml", { GITHUB_SECRET: "s" });
    expect((loaded.config.routes[0]!.targets[0] as Record<string, unknown>).transform).toBe('"${NOPE}"');
  });

  it("names every missing variable with its place and line", () => {
    const issues = issuesOf(valid.replace("${NTFY_TOKEN:-none}", "${NTFY_TOKEN}"));
    expect(issues).toHaveLength(2);
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ place: "routes[0].verify.secret", line: 9, message: expect.stringContaining("GITHUB_SECRET") }),
        expect.objectContaining({
          place: "routes[0].targets[0].headers.Authorization",
          line: 15,
          message: expect.stringContaining("NTFY_TOKEN"),
        }),
      ]),
    );
  });

  it("reports every schema error at once, each with its place", () => {
    const text = `
routes:
  - name: a
    path: /a
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: b
    path: /b
    verify: { type: githubb, secret: x }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: C!
    path: /c
    colour: blue
    verify: { type: github, secret: x }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/", timeout: 10 minutes }]
`;
    const issues = issuesOf(text);
    const places = issues.map((i) => i.place);
    expect(places).toContain("routes[1].verify.type");
    expect(places).toContain("routes[2].name");
    expect(places).toContain("routes[2].colour");
    expect(places).toContain("routes[2].targets[0].timeout");
    expect(issues.find((i) => i.place === "routes[1].verify.type")?.line).toBe(9);
    expect(issues.find((i) => i.place === "routes[2].colour")?.message).toMatch(/unknown key/);
  });

  it("reports JSONata syntax errors with the field and position", () => {
    const issues = issuesOf(valid.replace(`filter: headers."x-github-event" = "push"`, `filter: headers."x-github-event" = = "push"`), {
      GITHUB_SECRET: "s",
    });
    expect(issues).toEqual([expect.objectContaining({ place: "routes[0].filter", message: expect.stringMatching(/position \d+/) })]);
  });

  it("reports duplicate names and paths", () => {
    const text = `
routes:
  - { name: a, path: /a, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }, { name: t, type: http, url: "http://127.0.0.1:9/" }] }
  - { name: a, path: /b, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
  - { name: c, path: /a, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`;
    const places = issuesOf(text).map((i) => i.place);
    expect(places).toEqual(expect.arrayContaining(["routes[0].targets[1].name", "routes[1].name", "routes[2].path"]));
  });

  it("requires exactly one of secret, secrets, secret_file, and reads secret files", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-cfg-"));
    writeFileSync(join(dir, "gh.secret"), "from-file\n");
    const base = (verify: string) => `
routes:
  - name: g
    path: /g
    verify: ${verify}
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`;
    expect(issuesOf(base("{ type: github }"))[0]).toMatchObject({
      place: "routes[0].verify",
      message: expect.stringMatching(/one of secret/),
    });
    expect(issuesOf(base("{ type: github, secret: a, secrets: [b] }"))[0]?.message).toMatch(/only one/);
    expect(issuesOf(base("{ type: github, secret_file: missing.secret }"), {}, join(dir, "c.yaml"))[0]?.place).toBe(
      "routes[0].verify.secret_file",
    );
    const compiled = compileConfig(parseConfig(base("{ type: github, secret_file: gh.secret }"), join(dir, "c.yaml"), {}), {
      log,
      env: {},
    });
    const signed = compiled.routes[0]?.verifier.sign(Buffer.from("{}"), Date.now());
    expect(signed?.headers["X-Hub-Signature-256"]).toBeDefined();
  });

  it("refuses a public listener without a separate admin address", () => {
    const issues = issuesOf(`
server: { listen: 0.0.0.0:8080 }
routes: []
`);
    expect(issues[0]).toMatchObject({ place: "server", message: expect.stringMatching(/admin/) });
  });

  it("reports YAML syntax errors with a line", () => {
    const issues = issuesOf("routes:\n  - name: a\n    path: [/x\n");
    expect(issues[0]?.line).toBeGreaterThan(0);
    expect(issues[0]?.message).toMatch(/^YAML/);
  });

  it("reports an exec command that cannot run", () => {
    const issues = issuesOf(`
routes:
  - name: a
    path: /a
    verify: { type: none }
    targets: [{ name: run, type: exec, command: [/nonexistent/deploy.sh] }]
`);
    expect(issues[0]).toMatchObject({ place: "routes[0].targets[0].command[0]", message: expect.stringMatching(/not found/) });
  });
});

describe("YAML mistakes", () => {
  it("hints at quoting ${VAR} inside a flow map, and does not flood with cascading errors", () => {
    const issues = issuesOf(`
routes:
  - name: g
    path: /g
    verify: { type: github, secret: \${GH_SECRET} }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
`);
    expect(issues.length).toBeLessThanOrEqual(4);
    expect(issues[0]).toMatchObject({ line: 5, message: expect.stringContaining("quote ${...} values") });
  });
});

describe("one run, every problem", () => {
  it("compiles the sound parts of a route whose other parts are broken", () => {
    const issues = issuesOf(`
routes:
  - name: r
    path: /r
    dedupe: { ttl: forever }
    filter: "body.("
    verify: { type: github, secret: "\${MISSING}" }
    targets:
      - { name: a, type: exec, command: [/no/such/command] }
      - { name: b, type: http, url: "http://127.0.0.1:9/", transform: "}" }
      - { name: c, type: http, url: "http://127.0.0.1:9/", timeout: soon }
`);
    const places = issues.map((i) => i.place).sort();
    expect(places).toEqual(
      [
        "routes[0].dedupe.ttl",
        "routes[0].filter",
        "routes[0].verify.secret",
        "routes[0].targets[0].command[0]",
        "routes[0].targets[1].transform",
        "routes[0].targets[2].timeout",
      ].sort(),
    );
  });
});
