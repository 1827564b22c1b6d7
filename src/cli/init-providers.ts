import { shellQuote } from "./shell-quote.js";

/** What a provider's next steps are printed from: nothing here is a secret. */
export interface StepContext {
  /** The hook's public URL, or a placeholder on YOUR-PUBLIC-HOST without --public-url. */
  url: string;
  /** The local URL the daemon answers on, for tools that forward to it. */
  localUrl: string;
  /** The secret file's absolute path, shell-quoted: commands read it with $(cat FILE). */
  secretFile: string;
}

export interface InitProvider {
  name: string;
  /** The `verify:` block's lines other than `secret_file`, indented under `verify:`. */
  verify: readonly string[];
  /** A route filter (JSONata) keeping the events a starter route is for; undefined keeps all. */
  filter?: string;
  /** A comment above the filter: what it keeps and how to widen it. */
  filterNote: string;
  /** Whether the scheme has a delivery id for `dedupe: true`. */
  dedupe: boolean;
  /**
   * "generated": Switchyard makes the secret and the provider is told it. "provider": the provider
   * makes it (Stripe's whsec_…, Slack's signing secret) and the user pastes it into the file.
   */
  secret: "generated" | "provider";
  steps: (c: StepContext) => string[];
}

const q = shellQuote;

/** The providers `switchyard init` writes a route for, in the order the usage lists them. */
export const initProviders: readonly InitProvider[] = [
  {
    name: "github",
    verify: ["type: github"],
    filter: `headers."x-github-event" = "push"`,
    filterNote: "pushes only (GitHub's ping is answered by the route itself); other events answer 200 ignored",
    dedupe: true,
    secret: "generated",
    steps: (c) => [
      "Register the hook with GitHub's CLI (replace OWNER/REPO):",
      `  gh api repos/OWNER/REPO/hooks -f name=web -f ${q(`config[url]=${c.url}`)} -f 'config[content_type]=json' -f "config[secret]=$(cat ${c.secretFile})" -f 'events[]=push' -f active=true`,
      'Send it a test ping (ID is the "id" that command printed):',
      "  gh api repos/OWNER/REPO/hooks/ID/pings -X POST",
    ],
  },
  {
    name: "gitea",
    verify: ["type: gitea"],
    filter: `headers."x-gitea-event" = "push" or headers."x-forgejo-event" = "push"`,
    filterNote: "pushes only (Gitea and Forgejo); other events answer 200 ignored",
    dedupe: true,
    secret: "generated",
    steps: (c) => [
      "Register the hook with Gitea's (or Forgejo's) API (replace GITEA_HOST and OWNER/REPO; GITEA_TOKEN is an access token with write:repository):",
      `  curl -sS -X POST -H "Authorization: token $GITEA_TOKEN" -H 'Content-Type: application/json' https://GITEA_HOST/api/v1/repos/OWNER/REPO/hooks -d "{\\"type\\":\\"gitea\\",\\"active\\":true,\\"events\\":[\\"push\\"],\\"config\\":{\\"url\\":\\"${c.url.replace(/["\\$`]/g, (ch) => `\\${ch}`)}\\",\\"content_type\\":\\"json\\",\\"secret\\":\\"$(cat ${c.secretFile})\\"}}"`,
      'Send it a test push (ID is the "id" that command printed):',
      '  curl -sS -X POST -H "Authorization: token $GITEA_TOKEN" https://GITEA_HOST/api/v1/repos/OWNER/REPO/hooks/ID/tests',
    ],
  },
  {
    name: "gitlab",
    verify: ["type: gitlab"],
    filter: `headers."x-gitlab-event" = "Push Hook"`,
    filterNote: "pushes only; other events answer 200 ignored",
    dedupe: true,
    secret: "generated",
    steps: (c) => [
      "Register the hook with GitLab's API (replace gitlab.com if self-hosted, and PROJECT with the project's id or URL-encoded path; GITLAB_TOKEN is an access token with the api scope):",
      `  curl -sS -X POST -H "PRIVATE-TOKEN: $GITLAB_TOKEN" --data-urlencode ${q(`url=${c.url}`)} --data push_events=true --data-urlencode "token=$(cat ${c.secretFile})" https://gitlab.com/api/v4/projects/PROJECT/hooks`,
      'Send it a test push (ID is the "id" that command printed):',
      '  curl -sS -X POST -H "PRIVATE-TOKEN: $GITLAB_TOKEN" https://gitlab.com/api/v4/projects/PROJECT/hooks/ID/test/push_events',
    ],
  },
  {
    name: "meraki",
    verify: ["type: shared-secret   # Meraki puts it in the body's sharedSecret, which is removed before storing"],
    filter: "$exists(body.alertType)",
    filterNote: 'every alert; narrow it, e.g. body.alertLevel in ["warning", "critical"]',
    dedupe: true,
    secret: "generated",
    steps: (c) => [
      "In the Meraki dashboard: Network-wide > Configure > Alerts > Webhooks > Add an HTTPS receiver:",
      `  Name: switchyard   URL: ${c.url}`,
      `  Shared secret: the content of ${c.secretFile} (to the clipboard without showing it: xclip -selection clipboard < ${c.secretFile}, or pbcopy < on a Mac)`,
      'Save, tick the receiver under the alerts you want, and press "Send test webhook".',
    ],
  },
  {
    name: "stripe",
    verify: ["type: stripe"],
    filter: `body.type in ["checkout.session.completed", "invoice.paid", "invoice.payment_failed", "customer.subscription.deleted"]`,
    filterNote: "these event types only; the same list goes to Stripe below, other types answer 200 ignored",
    dedupe: true,
    secret: "provider",
    steps: (c) => [
      `Stripe makes the signing secret: ${c.secretFile} holds a placeholder that matches no real signature until you replace it.`,
      "For local development, with the Stripe CLI (its secret goes straight into the file, never to the terminal):",
      `  stripe listen --print-secret > ${c.secretFile}`,
      `  stripe listen --forward-to ${c.localUrl} --events checkout.session.completed,invoice.paid,invoice.payment_failed,customer.subscription.deleted`,
      "  stripe trigger invoice.paid",
      "For production: Stripe dashboard > Developers > Webhooks > Add endpoint:",
      `  Endpoint URL: ${c.url}   Events: the four above`,
      `  Then reveal the endpoint's signing secret (whsec_…) and paste it as the only line of ${c.secretFile}.`,
    ],
  },
  {
    name: "slack",
    verify: ["type: slack"],
    filter: `body.type = "event_callback"`,
    filterNote: "events (Slack's url_verification is answered by the route itself)",
    dedupe: true,
    secret: "provider",
    steps: (c) => [
      `Slack makes the signing secret: ${c.secretFile} holds a placeholder that matches no real signature until you replace it.`,
      "At https://api.slack.com/apps > your app > Basic Information > App Credentials:",
      `  copy the Signing Secret and paste it as the only line of ${c.secretFile}; restart the daemon (or send it SIGHUP).`,
      "Then Event Subscriptions > Enable Events:",
      `  Request URL: ${c.url}   (Slack verifies it at once; the route answers the challenge)`,
      "  Subscribe to the bot events you want, and save.",
    ],
  },
  {
    name: "generic",
    verify: ["type: hmac            # or: type: token, for Authorization: Bearer <secret>", "header: X-Signature", "prefix: sha256="],
    filterNote: 'none: every signed request is kept; add one, e.g. filter: body.action = "deploy"',
    dedupe: false,
    secret: "generated",
    steps: (c) => [
      "The sender signs each body: header X-Signature: sha256=<hex HMAC-SHA256 of the raw body>, keyed with the secret. For example:",
      `  body='{"hello":"world"}'; sig=$(printf %s "$body" | openssl dgst -sha256 -hmac "$(cat ${c.secretFile})" -r | cut -d' ' -f1)`,
      `  curl -sS -H 'Content-Type: application/json' -H "X-Signature: sha256=$sig" -d "$body" ${q(c.url)}`,
    ],
  },
];

export function findInitProvider(name: string): InitProvider | undefined {
  return initProviders.find((p) => p.name === name);
}
