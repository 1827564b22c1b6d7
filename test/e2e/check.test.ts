import { describe, expect, it } from "vitest";
import { runCli, tempDir, writeConfig } from "./harness.js";

/** `switchyard check` as a new user meets it: every problem in one run. */

describe("e2e: check lists every problem in one run", { timeout: 60_000 }, () => {
  it("an unknown type, misspelt keys, bad durations, attempts, URL, command, cwd, args and env: all at once", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `routes:
  - name: gh
    path: /gh
    verify: { type: githb, secret: "\${GH_SECRET:-x}" }
    targets:
      - name: notify
        type: htpp
        url: http://127.0.0.1:9/
      - name: ntfy
        type: http
        url: ftp://ntfy.lan/deploys
        timout: 10s
        retry: { attempts: 0, backoff: 1 second }
  - name: deploy
    path: /deploy
    verify: { type: none }
    targets:
      - name: run
        type: exec
        command: [./missing.sh]
        cwd: ./no-such-folder
        args: [body.repository.(]
        env: { GIT_REF: "body.ref +" }
  - name: pay
    path: /pay
    verify: { type: stripe, secret_file: ./stripe.secret, tolerence: 5m }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/", concurency: 2 }]
`,
    );
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(1);
    const expected = [
      `${file}:4: routes[0].verify.type: unknown type "githb" (did you mean "github"?)`,
      `${file}:7: routes[0].targets[0].type: unknown type "htpp" (did you mean "http"?)`,
      `${file}:11: routes[0].targets[1].url: must start with http:// or https://, not ftp://`,
      `${file}:12: routes[0].targets[1].timout: unknown key "timout" (did you mean "timeout"?)`,
      `${file}:13: routes[0].targets[1].retry.attempts: must be >= 1`,
      `${file}:13: routes[0].targets[1].retry.backoff: "1 second" is not a duration`,
      `${file}:20: routes[1].targets[0].command[0]:`,
      `${file}:21: routes[1].targets[0].cwd: ${dir}/no-such-folder is not a folder`,
      `${file}:22: routes[1].targets[0].args[0]: JSONata syntax error`,
      `${file}:23: routes[1].targets[0].env.GIT_REF: JSONata syntax error`,
      `${file}:26: routes[2].verify.tolerence: unknown key "tolerence" (did you mean "tolerance"?)`,
      `${file}:26: routes[2].verify.secret_file: cannot read ${dir}/stripe.secret: ENOENT`,
      `${file}:27: routes[2].targets[0].concurency: unknown key "concurency" (did you mean "concurrency"?)`,
    ];
    for (const line of expected) expect(r.stderr).toContain(line);
    expect(r.stderr).toContain(`${file}: ${expected.length} errors`);
    // In file order, so the list reads alongside the file.
    const lines = r.stderr.split("\n").filter((l) => l.startsWith("error: "));
    const numbers = lines.map((l) => Number(/\.yaml:(\d+):/.exec(l)?.[1]));
    expect(numbers).toEqual([...numbers].sort((a, b) => a - b));
  });

  it("offers no far-fetched guess, and lists the types when nothing is close", async () => {
    const dir = tempDir();
    const file = writeConfig(
      dir,
      `routes:
  - name: x
    path: /x
    verify: { type: carrier-pigeon }
    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/", colour: blue }]
`,
    );
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('routes[0].verify.type: unknown type "carrier-pigeon" (one of github, gitea,');
    expect(r.stderr).toContain('routes[0].targets[0].colour: unknown key "colour"\n');
  });
});
