import { writeFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli, startDaemon, tempDir, waitFor, writeConfig } from "./harness.js";

/** `switchyard check` as a new user meets it: every problem in one run, and the traps it warns about. */

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

describe("e2e: the JSONata hyphen trap", { timeout: 60_000 }, () => {
  const trapped = `routes:
  - name: gh
    path: /gh
    verify: { type: none }
    filter: headers.x-github-event = "push"
    dedupe: { id: headers.x-github-delivery }
    targets:
      - name: run
        type: exec
        command: [/bin/sh, -c, "cat >/dev/null"]
        filter: body.head-commit.id != ""
        transform: '{ "event": headers.x-github-event }'
        args: [headers.x-github-event]
        env: { EVENT: headers.x-github-event, FINE: 'headers."x-github-event"', SUM: body.a - body.b }
`;

  it("check warns on every JSONata field with the quoted form, and still exits 0", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, trapped);
    const r = await runCli(["check", "-c", file]);
    expect(r.code).toBe(0);
    const fix = 'is a subtraction (headers.x - github - event), not a name with hyphens: write headers."x-github-event"';
    expect(r.stdout).toContain(`warning: ${file}:5: routes[0].filter: headers.x-github-event ${fix}`);
    expect(r.stdout).toContain(`warning: ${file}:6: routes[0].dedupe.id: headers.x-github-delivery is a subtraction`);
    expect(r.stdout).toContain('write headers."x-github-delivery"');
    expect(r.stdout).toContain(`warning: ${file}:11: routes[0].targets[0].filter: body.head-commit is a subtraction`);
    expect(r.stdout).toContain('write body."head-commit"');
    expect(r.stdout).toContain(`warning: ${file}:12: routes[0].targets[0].transform: headers.x-github-event ${fix}`);
    expect(r.stdout).toContain(`warning: ${file}:13: routes[0].targets[0].args[0]: headers.x-github-event ${fix}`);
    expect(r.stdout).toContain(`warning: ${file}:14: routes[0].targets[0].env.EVENT: headers.x-github-event ${fix}`);
    expect(r.stdout).not.toContain("env.FINE");
    expect(r.stdout).not.toContain("env.SUM");
    expect(r.stdout).toContain(`${file}: ok (1 route, 1 target)`);
  });

  it("serve warns at start and on reload", async () => {
    const dir = tempDir();
    const file = writeConfig(dir, `store: { path: ./sy.db }\n${trapped}`);
    const daemon = await startDaemon(file);
    try {
      const warned = (place: string) =>
        daemon.logs.find((l) => l.level === "warn" && l.place === place && String(l.msg).includes('write headers."x-github-event"'));
      expect(warned("routes[0].filter")).toBeDefined();
      expect(warned("routes[0].targets[0].env.EVENT")).toBeDefined();
      const before = daemon.logs.length;
      writeFileSync(
        file,
        `store: { path: ./sy.db }\nroutes:\n  - name: gh\n    path: /gh\n    verify: { type: none }\n    filter: headers.x-gitlab-event = "Push Hook"\n    targets: [{ name: t, type: http, url: "http://127.0.0.1:9/" }]\n`,
      );
      const onReload = await waitFor(
        () =>
          daemon.logs
            .slice(before)
            .find((l) => l.level === "warn" && l.place === "routes[0].filter" && String(l.msg).includes('headers."x-gitlab-event"')),
        "the reload's warning",
      );
      expect(onReload.line).toBe(6);
      expect(daemon.logs.slice(before).some((l) => l.msg === "config reloaded")).toBe(true);
    } finally {
      await daemon.stop();
    }
  });
});
