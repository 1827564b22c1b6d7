import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import pino from "pino";
import { describe, expect, it, vi } from "vitest";
import { compileConfig } from "../../src/config/compile.js";
import { parseConfig } from "../../src/config/load.js";
import { readmeBlocks, referenceBlocks } from "../../src/docs/reference.js";
import { ConfigError } from "../../src/errors.js";
import { receivedEvent } from "../../src/pipeline/event.js";
import { createLogger } from "../../src/telemetry/logger.js";

/**
 * The plugin boundary: a verifier and a target that exist only in this file, added to the
 * registries the way a new plugin is (one line each: here by extending the lists). Nothing
 * outside their definitions names their fields, yet interpolation, `check`, redaction, the log
 * and the README reference treat them right, from the marks on their schemas alone.
 */

vi.mock("../../src/plugins/verifiers/index.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/plugins/verifiers/index.js")>();
  const { Type } = await import("@sinclair/typebox");
  const { SecretField } = await import("../../src/config/marks.js");
  const { anyKeyEquals, defineVerifier, secretProperties } = await import("../../src/plugins/verifiers/verifier.js");
  const carrierPigeon = defineVerifier({
    type: "carrier-pigeon",
    description: "`X-Pigeon-Key` equals the secret and the pigeon's ring code matches",
    deliveryId: "`X-Pigeon-Id`",
    needsSecret: true,
    credentialHeaders: ["x-pigeon-key"],
    properties: {
      ...secretProperties,
      ring_code: SecretField("value", Type.String({ pattern: "^[A-Z0-9-]+$", description: "the code on the pigeon's ring" })),
    },
    create: (options, ctx) => ({
      verify: (req) =>
        anyKeyEquals(ctx.keys, req.headers["x-pigeon-key"] ?? "") && req.headers["x-pigeon-ring"] === options.ring_code
          ? { ok: true }
          : { ok: false, reason: "signature_mismatch" },
      sign: (body) => ({ headers: { "X-Pigeon-Key": ctx.keys[0]?.toString() ?? "", "X-Pigeon-Ring": options.ring_code }, body }),
    }),
  });
  const verifiers = [...original.verifiers, carrierPigeon];
  return { ...original, verifiers, findVerifier: (type: string) => verifiers.find((v) => v.type === type) };
});

vi.mock("../../src/plugins/targets/index.js", async (importOriginal) => {
  const original = await importOriginal<typeof import("../../src/plugins/targets/index.js")>();
  const { Type } = await import("@sinclair/typebox");
  const { ExpressionField, SecretField } = await import("../../src/config/marks.js");
  const { defineTarget } = await import("../../src/plugins/targets/target.js");
  const semaphore = defineTarget({
    type: "semaphore",
    description: "signals each event from a tower with flags",
    defaultTimeout: "1m",
    defaultConcurrency: 2,
    properties: {
      tower_password: SecretField("value", Type.String({ minLength: 1, description: "what the tower keeper asks for" })),
      flags: ExpressionField({ description: "JSONata over the event: the flags to raise" }),
    },
    create: (o, ctx) => {
      const flags = ctx.compile(o.flags, "flags");
      return {
        render: async (input) => ({ flags: await flags.evaluate(input.event) }),
        deliver: async () => ({ kind: "retry", error: `the keeper refused "${o.tower_password}"` }),
      };
    },
  });
  const targets = [...original.targets, semaphore];
  return { ...original, targets, findTarget: (type: string) => targets.find((t) => t.type === type) };
});

const env = { PIGEON_SECRET: "coo-coo-secret-1", RING: "RING-4242-XY", TOWER: "tower-password-9" };
const quiet = pino({ level: "silent" });

function configFile(routeExtra: string, targetExtra: string): { file: string; text: string } {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-throwaway-"));
  const file = join(dir, "switchyard.yaml");
  const text = `
routes:
  - name: pigeons
    path: /hooks/pigeons
    verify: { type: carrier-pigeon, secret: "\${PIGEON_SECRET}", ${routeExtra} }
    targets:
      - { name: tower, type: semaphore, tower_password: "\${TOWER}", ${targetExtra} }
`;
  writeFileSync(file, text, { mode: 0o600 });
  return { file, text };
}

function compile(routeExtra: string, targetExtra: string) {
  const { file, text } = configFile(routeExtra, targetExtra);
  return compileConfig(parseConfig(text, file, env), { log: quiet, env });
}

function checkErrors(routeExtra: string, targetExtra: string): string {
  try {
    compile(routeExtra, targetExtra);
  } catch (err) {
    if (err instanceof ConfigError) return err.message;
    throw err;
  }
  throw new Error("the config was accepted");
}

describe("a new verifier and target, known only by their own files", () => {
  it("leave their expression fields uninterpolated and compiled, and build", async () => {
    // `${RING}` in the expression is JSONata text, not a variable of ours: no "not set" error.
    const config = compile('ring_code: "${RING}"', "flags: '\"${RING}\" & body.colour'");
    const route = config.byName.get("pigeons");
    const target = route?.targets[0];
    expect(target?.type).toBe("semaphore");
    const event = receivedEvent({
      id: "e1",
      route: "pigeons",
      receivedAt: "2026-11-29T12:00:00.000Z",
      method: "POST",
      path: "/hooks/pigeons",
      query: {},
      headers: {},
      rawBody: Buffer.from('{"colour":"red"}'),
    });
    expect(await target?.target.render({ event })).toEqual({ flags: "${RING}red" });
    // And the verifier got its secret field interpolated.
    const signed = route?.verifier.sign(Buffer.from("{}"), 0);
    expect(signed?.headers["X-Pigeon-Ring"]).toBe(env.RING);
  });

  it("have the secret values of both masked in delivery errors", async () => {
    const config = compile('ring_code: "${RING}"', "flags: body.colour");
    const target = config.byName.get("pigeons")?.targets[0];
    const outcome = await target?.target.deliver({ event: {} as never }, new AbortController().signal);
    const error = outcome?.kind === "retry" ? outcome.error : "";
    expect(error).toContain(env.TOWER);
    const shown = config.redact(`${error}; ring ${env.RING}; key ${env.PIGEON_SECRET}`);
    for (const secret of Object.values(env)) expect(shown).not.toContain(secret);
    expect(shown).toContain("[redacted]");
  });

  it("are checked: a broken expression is reported at its place, a bad secret without its value", () => {
    const errors = checkErrors('ring_code: "${PIGEON_SECRET}"', "flags: 'body.colour = '");
    expect(errors).toContain("routes[0].targets[0].flags");
    expect(errors).toContain("routes[0].verify.ring_code: the value is not in the expected form");
    expect(errors).not.toContain(env.PIGEON_SECRET);
    // In an otherwise sound route too, where compile rather than load finds it.
    expect(checkErrors('ring_code: "${RING}"', "flags: 'body.colour = '")).toContain("routes[0].targets[0].flags");
  });

  it("have their expression fields linted: a hyphenated name left unquoted is a warning at its place", () => {
    const { file, text } = configFile('ring_code: "${RING}"', "flags: 'headers.x-pigeon-colour'");
    const warnings = parseConfig(text, file, env).issues.filter((i) => i.severity === "warning");
    expect(warnings.map((w) => w.place)).toEqual(["routes[0].targets[0].flags"]);
    expect(warnings[0]?.message).toContain('"x-pigeon-colour"');
  });

  it("have the header their scheme receives the credential in kept out of the log", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    createLogger("info", sink).info({ headers: { "x-pigeon-key": env.PIGEON_SECRET } }, "a request");
    expect(lines.join("")).toContain("a request");
    expect(lines.join("")).not.toContain(env.PIGEON_SECRET);
  });

  it("appear in the README's generated reference, so the README check fails until npm run docs is run", () => {
    const generated = referenceBlocks();
    expect(generated["config-schemes"]).toContain("| `carrier-pigeon` | `X-Pigeon-Key` equals the secret");
    expect(generated["config-schemes"]).toContain("| `carrier-pigeon` | `ring_code` | required | the code on the pigeon's ring |");
    expect(generated["config-targets"]).toContain("`http`, `exec`, `relay`, `mqtt`, `nats`, `amqp` or `semaphore`");
    expect(generated["config-targets"]).toContain(
      "| `timeout` | http `10s`, exec `5m`, relay `60s`, mqtt `10s`, nats `10s`, amqp `10s`, semaphore `1m` |",
    );
    expect(generated["config-targets"]).toContain("| `flags` | required | JSONata over the event: the flags to raise |");
    const readme = readmeBlocks(readFileSync(join(import.meta.dirname, "../../README.md"), "utf8"));
    expect(readme["config-schemes"]).not.toBe(generated["config-schemes"]);
    expect(readme["config-targets"]).not.toBe(generated["config-targets"]);
  });
});
