import { chmodSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, type Sink, startSink, tempDir, writeConfig } from "./harness.js";

const fixtures = resolve(import.meta.dirname, "../fixtures");

describe("e2e: the CLI", () => {
  it("check exits 1 naming every error's place", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `
routes:
  - name: ok
    path: /ok
    verify: { type: none }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: bad
    path: /bad
    verify: { type: gihtub, secret: x }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]
  - name: worse
    path: /ok
    filter: "body.("
    verify: { type: github, secret: "\${MISSING_SECRET}" }
    targets: [{ name: t, type: exec, command: [/no/such/command] }]
`,
    );
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(1);
    for (const place of ["routes[1].verify.type", "routes[2].verify.secret", "routes[2].filter", "routes[2].targets[0].command[0]"]) {
      expect(r.stderr).toContain(place);
    }
    expect(r.stderr).toMatch(/switchyard\.yaml:9: routes\[1\]\.verify\.type/);
  });

  it("check warns about a `none` route on a public listener and about world-readable inline secrets", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `
server: { listen: 0.0.0.0:0, admin: 127.0.0.1:0 }
routes:
  - { name: open, path: /open, verify: { type: none }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
  - { name: gh, path: /gh, verify: { type: github, secret: inline-secret }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    chmodSync(file, 0o644);
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/warning: .*routes\[0\]\.verify\.type: none: anyone/);
    expect(r.stdout).toMatch(/warning: .*readable by every user/);
    expect(r.stdout).not.toContain("inline-secret");
    chmodSync(file, 0o600);
    expect((await runCli(["check", "-c", file])).stdout).not.toMatch(/readable by every user/);
  });

  it("test prints the transformed body and the rendered command, and sends nothing", async () => {
    const dir = tempDir();
    const sink: Sink = await startSink();
    writeFileSync(join(dir, "run.sh"), "#!/bin/sh\ntouch ran\n");
    chmodSync(join(dir, "run.sh"), 0o755);
    const file = writeConfig(
      dir,
      `
routes:
  - name: github
    path: /hooks/github
    verify: { type: github, secret: dry-run-secret }
    targets:
      - name: notify
        type: http
        url: ${sink.url}/notify
        transform: '{ "text": "push to " & body.repository.full_name }'
      - name: deploy
        type: exec
        command: [./run.sh]
        args: [body.after]
        env: { GIT_REF: body.ref }
`,
    );
    const body = join(fixtures, "github-push.json");
    const unsigned = await runCli(["test", "github", "-c", file, "--body", body]);
    expect(unsigned.code).toBe(0);
    expect(unsigned.stdout).toContain("unsigned: use --sign");

    const r = await runCli(["test", "github", "-c", file, "--body", body, "--sign", "--json"]);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      verification: string;
      answer: number;
      targets: { name: string; would: Record<string, unknown> }[];
    };
    expect(report.verification).toBe("ok");
    expect(report.answer).toBe(202);
    expect(JSON.parse(String(report.targets[0]?.would.body))).toEqual({ text: "push to Codertocat/Hello-World" });
    expect(report.targets[1]?.would.argv).toEqual([join(dir, "run.sh"), "6113728f27ae82c7b1a177c8d03f9e96e0adf246"]);
    expect(report.targets[1]?.would.env).toMatchObject({ GIT_REF: "refs/tags/simple-tag" });

    const human = await runCli(["test", "github", "-c", file, "--body", body, "--sign"]);
    expect(human.stdout).toContain("push to Codertocat/Hello-World");
    expect(human.stdout).toContain("nothing was delivered");
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.requests).toHaveLength(0);
    await sink.close();
  });

  it("sign prints headers and a curl line that the route accepts", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `
server: { listen: 127.0.0.1:8181 }
routes:
  - { name: stripe, path: /hooks/stripe, verify: { type: stripe, secret: whsec_signme }, targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }] }
`,
    );
    const bodyFile = join(dir, "event.json");
    writeFileSync(bodyFile, `{"id":"evt_1","type":"invoice.paid"}`);
    const r = await runCli(["sign", "stripe", "-c", file, "--body", bodyFile]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Stripe-Signature: t=\d+,v1=[0-9a-f]{64}$/m);
    expect(r.stdout).toContain("curl -sS -X POST 'http://127.0.0.1:8181/hooks/stripe'");
  });

  it("exits 1 for an unknown route and 2 for a usage error", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, "routes: []\n");
    const unknown = await runCli(["sign", "nope", "-c", file, "--body", "/dev/null"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no route named "nope"');
    expect((await runCli(["sign", "-c", file])).code).toBe(2);
    expect((await runCli(["frobnicate"])).code).toBe(2);
    expect((await runCli(["--version"])).code).toBe(0);
  });
});
