import { Argument, Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { ADDRESS_PATTERN, parseAddress } from "../config/addresses.js";
import { ConfigError, ListenError, StoreUnavailableError, UserError } from "../errors.js";
import { VERSION } from "../version.js";
import { capture } from "./capture.js";
import { check } from "./check.js";
import { dlqList, dlqReplay } from "./dlq.js";
import { events } from "./events.js";
import { eventsShow } from "./events-show.js";
import { health } from "./health.js";
import { importWebhook } from "./import/import-webhook.js";
import { INIT_PROVIDER_NAMES, init } from "./init.js";
import { relayPull } from "./relay-pull.js";
import { schemes } from "./schemes.js";
import { serve } from "./serve.js";
import { sign } from "./sign.js";
import { targetList, targetResume } from "./target.js";
import { test } from "./test.js";

/** Exit codes, every one the CLI makes: the README's table lists them, and an e2e test checks each. */
export const EXIT_OK = 0;
/** Bad config, unknown route or id, store unavailable, a failed shutdown. */
export const EXIT_USER = 1;
/** Unknown verb or option, missing argument. */
export const EXIT_USAGE = 2;
/** `serve` could not bind listen or admin: in use, permission denied, not an address of this host. */
export const EXIT_LISTEN = 3;
/** A bug: an error nothing expected (main.ts prints its stack). */
export const EXIT_INTERNAL = 70;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("must be a whole number from 1 up");
  return n;
}

function address(value: string): string {
  if (!new RegExp(ADDRESS_PATTERN).test(value) || parseAddress(value).port > 65535) {
    throw new InvalidArgumentError("write host:port, e.g. 127.0.0.1:8081, 0.0.0.0:0 or [::1]:8081");
  }
  return value;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

const configOption = () => new Option("-c, --config <file>", "config file (default $SWITCHYARD_CONFIG or config/switchyard.yaml)");
const listenOption = () => new Option("--listen <host:port>", "webhook address; wins over $SWITCHYARD_LISTEN and server.listen");
const adminOption = () => new Option("--admin <host:port>", "admin address; wins over $SWITCHYARD_ADMIN and server.admin");

export function buildProgram(setExit: (code: number) => void): Command {
  const program = new Command("switchyard")
    .description("A declarative webhook router: verify, filter, transform and durably deliver webhooks.")
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError();

  program
    .command("serve")
    .description("run the daemon; SIGHUP or a change to the file reloads; SIGTERM drains and exits 0")
    .addOption(configOption())
    .addOption(listenOption())
    .addOption(adminOption())
    .action(async (o) => setExit(await serve(o)));
  program
    .command("check")
    .description("validate the config (schema, env vars, JSONata, paths, commands); exit 0 or 1 with every error")
    .addOption(configOption())
    .addOption(listenOption())
    .addOption(adminOption())
    .option("--json", "machine-readable output")
    .action((o) => setExit(check(o)));
  program
    .command("test")
    .description("dry run: verification, route filter, each target's filter and rendered request; delivers nothing")
    .argument("<route>", "route name")
    .option("--body <file>", "the request body ('-' for stdin)")
    .option("--request <file.jsonl[:n]>", "instead of --body: a request switchyard capture --out wrote (the last, or the nth line)")
    .option("-H, --header <line>", "a request header, 'Name: value' (repeatable)", collect)
    .option("-q, --query <pair>", "a query parameter, name=value (repeatable)", collect)
    .option("--sign", "sign the body with the route's secret first")
    .option("--client <address>", "the address the request comes from, which a route filter sees as client")
    .option("--private-key <file>", "with --sign: a PEM private key, for public-key schemes (discord, telnyx, sendgrid, aws-sns)")
    .option("--json", "machine-readable output")
    .addOption(configOption())
    .action(async (route, o) => setExit(await test(route, o)));
  program
    .command("sign")
    .description("print the headers (and a ready curl line) of a valid signed request for a route")
    .argument("<route>", "route name")
    .requiredOption("--body <file>", "the request body ('-' for stdin)")
    .option("--url <base>", "base URL for the curl line (default: the listen address)")
    .option("-H, --header <line>", "add or replace a request header, 'Name: value' (repeatable)", collect)
    .option("--private-key <file>", "a PEM private key to sign with, for public-key schemes (discord, telnyx, sendgrid, aws-sns)")
    .addOption(configOption())
    .action((route, o) => setExit(sign(route, o)));
  program
    .command("schemes")
    .description("list every verify.type with its options, what it checks and its dedupe id")
    .option("--json", "machine-readable output")
    .action((o) => setExit(schemes(o)));
  const dlq = program.command("dlq").description("the dead-letter queue: deliveries that ran out of attempts");
  dlq
    .command("list")
    .description("list dead letters with their last error")
    .option("--route <name>", "only this route")
    .option("--limit <n>", "at most n", positiveInt)
    .option("--json", "machine-readable output")
    .addOption(configOption())
    .action(async (o) => setExit(await dlqList(o)));
  dlq
    .command("replay")
    .description("queue dead letters again (a running daemon picks them up)")
    .argument("[ids...]", "dead-letter ids from dlq list, or event ids (every dead delivery of the event)")
    .option("--all", "replay every dead letter")
    .addOption(configOption())
    .action(async (ids, o) => setExit(await dlqReplay(ids, o)));
  const target = program.command("target").description("targets paused after failing for a stretch (pause_after)");
  target
    .command("list")
    .description("list paused targets with the error that paused them")
    .option("--json", "machine-readable output")
    .addOption(configOption())
    .action(async (o) => setExit(await targetList(o)));
  target
    .command("resume")
    .description("resume a paused target by hand (a running daemon sends its waiting deliveries within a second)")
    .argument("<route/target>", "the target, as target list and dlq list name it")
    .addOption(configOption())
    .action(async (name, o) => setExit(await targetResume(name, o)));
  // `events` alone lists, as it always has; `events show ID` is a subcommand beside that action.
  const eventsCommand = program
    .command("events")
    .description("recent events with each target's delivery state; `events show ID` for one event in full")
    .option("--route <name>", "only this route")
    .option("--limit <n>", "at most n (default 20)", positiveInt)
    .option("--json", "machine-readable output")
    .addOption(configOption())
    .action(async (o) => setExit(await events(o)));
  eventsCommand
    .command("show")
    .description("one event: the stored request (method, path, query, headers, body) and each delivery's state")
    .argument("<id>", "event id (from the logs, events or dlq list)")
    .option("--json", "machine-readable output")
    .option("--raw", "write only the body's bytes as received, nothing added (pipe it to curl --data-binary @-)")
    .addOption(configOption())
    // With the parent's options too: `events -c FILE show ID` reads as naturally as `events show ID -c FILE`.
    .action(async (id, _o, cmd: Command) => setExit(await eventsShow(id, cmd.optsWithGlobals())));
  program
    .command("health")
    .description("exit 0 if the running daemon's /healthz (on the config's admin address) answers 200, else 1")
    .option("--url <url>", "probe this URL instead (default $SWITCHYARD_HEALTH_URL, else from the config)")
    .addOption(configOption())
    .action(async (o) => setExit(await health(o)));
  program
    .command("capture")
    .description("answer 200 to every request and print it (headers, body); with -c, what the daemon would do with it")
    .addOption(
      new Option("--listen <host:port>", "where to listen (default 127.0.0.1:8081, or the config's server.listen with -c)").argParser(
        address,
      ),
    )
    .addOption(configOption())
    .option("--out <file.jsonl>", "also append each request as a JSON line, for switchyard test --request")
    .option("--show-secrets", "show credential headers (Authorization, tokens) instead of [redacted]")
    .action(async (o) => setExit(await capture(o)));
  const relay = program.command("relay").description("the pull relay: receive webhooks taken by an edge instance");
  relay
    .command("pull")
    .description("pull from an edge's relay target and forward each request byte for byte to a local URL; acknowledged only after a 2xx")
    .argument("<url>", "the edge's relay target: its listener and the target's path (https://edge.example.com/relay/home)")
    .option("--token <token>", "the relay target's token (default $SWITCHYARD_RELAY_TOKEN, which keeps it out of ps)")
    .requiredOption("--to <url>", "where to send each request (http://localhost:3000/hook)")
    .option("--batch <n>", "events asked for per pull (default 100)", positiveInt)
    .option("--wait <duration>", "how long a pull waits at the edge (default 25s, at most 55s)")
    .option("--ca-file <pem>", "a certificate to trust for the edge's HTTPS (a self-signed edge)")
    .action(async (url, o) => setExit(await relayPull(url, o)));
  program
    .command("init")
    .description("write a starter config: a route, a generated secret file and the hook's registration steps per provider")
    .addArgument(new Argument("[providers...]", "providers (default generic)").choices(INIT_PROVIDER_NAMES))
    .option("-o, --output <dir>", "the folder to write switchyard.yaml, secrets/ and data/ in (default .)")
    .option("--public-url <url>", "the base URL providers reach the daemon at, filled into the printed steps")
    .option("--force", "replace switchyard.yaml and the secret files if they exist")
    .action((providers: string[], o) => setExit(init(providers, o)));
  program
    .command("import")
    .description("convert another tool's configuration into a Switchyard config")
    .command("webhook")
    .description("convert an adnanh/webhook hooks file (JSON or YAML, templates too); exit 0 exact, 1 with warnings, 2 unusable file")
    .argument("<hooks-file>", "hooks.json, hooks.yaml or a -template file")
    .option("-o, --output <file>", "write the config here (default: stdout)")
    .option("--url-prefix <prefix>", "webhook's -urlprefix: routes answer /<prefix>/<id> (default hooks; '' for /<id>)")
    .option("--template", "read the file as a template even without template functions or a .tmpl name")
    .option("--force", "replace the output file if it exists")
    .action((file: string, o) => setExit(importWebhook(file, o)));
  return program;
}

export async function run(argv: readonly string[]): Promise<number> {
  let code = EXIT_OK;
  const program = buildProgram((c) => {
    code = c;
  });
  try {
    await program.parseAsync([...argv], { from: "user" });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version "fail" with exit code 0.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof ConfigError || err instanceof UserError || err instanceof StoreUnavailableError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      return EXIT_USER;
    }
    if (err instanceof ListenError) {
      process.stderr.write(`switchyard: ${err.message}\n`);
      return EXIT_LISTEN;
    }
    throw err;
  }
}
