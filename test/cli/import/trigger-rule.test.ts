import { describe, expect, it } from "vitest";
import { parameterExpression } from "../../../src/cli/import/parameter.js";
import { convertRule, regexLiteral } from "../../../src/cli/import/trigger-rule.js";
import { compileExpression } from "../../../src/pipeline/expression.js";

const ctx = { json: [], softFailures: false, literal: (t: string) => t, secret: (t: string) => ({ secret: t }) };
const value = (name: string, v: string) => ({ match: { type: "value", value: v, parameter: { source: "payload", name } } });
const sig = (secret: string, source = "header", name = "X-Hub-Signature") => ({
  match: { type: "payload-hmac-sha1", secret, parameter: { source, name } },
});

/** The converted filter run over an event, as the route would. */
async function run(filter: string | undefined, event: Record<string, unknown>): Promise<unknown> {
  return filter === undefined ? true : compileExpression(filter, "routes[0].filter").evaluate(event);
}

describe("trigger-rule conversion", () => {
  it("takes the signature out of and into verify, the rest into the filter", () => {
    const out = convertRule({ and: [value("ref", "refs/heads/main"), sig("s")] }, ctx);
    expect(out.verify).toEqual({
      type: "hmac",
      algorithm: "sha1",
      prefix: "sha1=",
      separator: ",",
      secret: "s",
      header: "X-Hub-Signature",
    });
    expect(out.filter).toBe('$string(body.ref) = "refs/heads/main"');
    expect(out.problems).toEqual([]);
  });

  it("compares text as adnanh/webhook does: a number matches its digits", async () => {
    const out = convertRule(value("count", "1"), ctx);
    expect(await run(out.filter, { body: { count: 1 } })).toBe(true);
    expect(await run(out.filter, { body: { count: 2 } })).toBe(false);
    expect(await run(out.filter, { body: {} })).toBe(false);
  });

  it("keeps or / not / regex meaning, a missing value being false", async () => {
    const rule = {
      or: [value("a", "x"), { not: { match: { type: "regex", regex: "(?i)^prod", parameter: { source: "payload", name: "env" } } } }],
    };
    const { filter } = convertRule(rule, ctx);
    expect(await run(filter, { body: { a: "x", env: "production" } })).toBe(true);
    expect(await run(filter, { body: { a: "y", env: "PROD-1" } })).toBe(false);
    expect(await run(filter, { body: { a: "y", env: "staging" } })).toBe(true);
    expect(await run(filter, { body: { a: "y" } })).toBe(true);
  });

  it("a value the request lacks refuses under and, as webhook's AndRule does with the error NotRule passes up", async () => {
    const noTags = {
      and: [sig("s"), { not: { match: { type: "regex", regex: "^refs/tags/", parameter: { source: "payload", name: "ref" } } } }],
    };
    const { filter } = convertRule(noTags, ctx);
    expect(await run(filter, { body: {} })).toBe(false);
    expect(await run(filter, { body: { ref: "refs/tags/v1" } })).toBe(false);
    expect(await run(filter, { body: { ref: "refs/heads/main" } })).toBe(true);
    // At the top webhook takes not's value despite the error, and or swallows it.
    expect(await run(convertRule({ not: value("ref", "x") }, ctx).filter, { body: {} })).toBe(true);
    expect(await run(convertRule({ or: [{ not: value("ref", "x") }] }, ctx).filter, { body: {} })).toBe(true);
    // and stops at its first false member: a missing value after it is never read.
    const nested = { and: [{ not: { and: [value("a", "x"), value("b", "y")] } }, value("c", "1")] };
    const n = convertRule(nested, ctx).filter;
    expect(await run(n, { body: { a: "z", c: "1" } })).toBe(true);
    expect(await run(n, { body: { c: "1" } })).toBe(false);
    expect(await run(n, { body: { a: "x", c: "1" } })).toBe(false);
    expect(await run(n, { body: { a: "x", b: "z", c: "1" } })).toBe(true);
  });

  it("a value match on a header or query parameter that every request needs becomes a token verify", () => {
    const header = { match: { type: "value", value: "t0k", parameter: { source: "header", name: "X-Gitlab-Token" } } };
    const out = convertRule({ and: [header, value("object_kind", "push")] }, ctx);
    expect(out.verify).toEqual({ type: "token", header: "X-Gitlab-Token", secret: "t0k" });
    expect(out.filter).toBe('$string(body.object_kind) = "push"');
    expect(out.problems.join("\n")).toMatch(/answered 401/);
    const query = { match: { type: "value", value: "t0k", parameter: { source: "url", name: "token" } } };
    expect(convertRule(query, ctx).verify).toEqual({ type: "token", query: "token", secret: "t0k" });
    // Under or it is not required, and beside a signature the signature is verify.
    expect(convertRule({ or: [header, value("a", "b")] }, ctx).verify).toBeUndefined();
    expect(convertRule({ and: [sig("s"), header] }, ctx).verify).toMatchObject({ type: "hmac" });
  });

  it("replaces what it cannot convert by the constant that only makes the filter stricter", async () => {
    const bad = { match: { type: "regex", regex: "(?U)a+", parameter: { source: "payload", name: "a" } } };
    const underOr = convertRule({ or: [bad, value("b", "1")] }, ctx);
    expect(underOr.filter).toBe('$string(body.b) = "1"');
    const underNot = convertRule({ and: [{ not: bad }, value("b", "1")] }, ctx);
    expect(await run(underNot.filter, { body: { a: "zzz", b: "1" } })).toBe(false);
    expect(underNot.problems).toHaveLength(1);
  });

  it("refuses everything when a signature stays outside verify without soft failures", () => {
    const out = convertRule({ or: [sig("s"), value("b", "1")] }, ctx);
    expect(out.filter).toBe("false");
    expect(out.problems.join("\n")).toMatch(/refuses every request/);
    // With soft failures a failed signature is a false: the other member still counts.
    expect(convertRule({ or: [sig("s", "payload", "sig"), value("b", "1")] }, { ...ctx, softFailures: true }).filter).toBe(
      '$string(body.b) = "1"',
    );
  });

  it("turns or of one signature under several secrets into secrets, the first only without soft failures", () => {
    const rule = { or: [sig("old"), sig("new")] };
    expect(convertRule(rule, { ...ctx, softFailures: true }).verify).toMatchObject({ secrets: ["old", "new"] });
    expect(convertRule(rule, ctx).verify).toMatchObject({ secret: "old" });
  });

  it("regexes: RE2 flags and named groups become JavaScript's, slashes are escaped", () => {
    expect(regexLiteral("(?i)^a/b$")).toEqual({ literal: "/^a\\/b$/i" });
    expect(regexLiteral("(?P<n>x)\\z")).toEqual({ literal: "/(?<n>x)$/" });
    expect(regexLiteral("a\\/b")).toEqual({ literal: "/a\\/b/" });
    expect(regexLiteral("(")).toHaveProperty("problem");
  });
});

describe("request values", () => {
  it.each([
    [{ source: "payload", name: "commits.0.commit.id" }, "body.commits[0].commit.id"],
    [{ source: "payload", name: "odd-key.x" }, 'body."odd-key".x'],
    [{ source: "header", name: "X-Hub-Signature" }, 'headers."x-hub-signature"'],
    [{ source: "url", name: "q" }, "query.q"],
    [{ source: "query", name: "q" }, "query.q"],
    [{ source: "request", name: "METHOD" }, "method"],
    [{ source: "string", name: 'say "hi"' }, '"say \\"hi\\""'],
    [{ source: "entire-query" }, "$string(query)"],
  ])("%j → %s", (arg, expr) => {
    expect(parameterExpression(arg, [], "command")).toEqual({ expr });
  });

  it("reads through a JSON-text value named in parse-parameters-as-json", async () => {
    const p = parameterExpression({ source: "payload", name: "payload.repo.0" }, [{ base: "body", name: "payload" }], "command");
    expect(p).toEqual({ expr: "$eval(body.payload).repo[0]" });
    const expr = "expr" in p ? p.expr : "";
    expect(await compileExpression(expr, "x").evaluate({ body: { payload: '{"repo":["a","b"]}' } })).toBe("a");
  });

  it("gives entire-headers with Go's canonical names", async () => {
    const p = parameterExpression({ source: "entire-headers" }, [], "command");
    const expr = "expr" in p ? p.expr : "";
    const json = await compileExpression(expr, "x").evaluate({ headers: { "x-hub-signature": "s", "content-type": "a/b" } });
    expect(JSON.parse(String(json))).toEqual({ "X-Hub-Signature": "s", "Content-Type": "a/b" });
  });

  it("the client address is for rules only", () => {
    expect(parameterExpression({ source: "request", name: "remote-addr" }, [], "rule")).toMatchObject({ expr: "client" });
    expect(parameterExpression({ source: "request", name: "remote-addr" }, [], "command")).toHaveProperty("problem");
  });
});
