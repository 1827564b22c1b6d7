import { awsSns } from "./aws-sns.js";
import { basic } from "./basic.js";
import { bitbucket } from "./bitbucket.js";
import { calendly } from "./calendly.js";
import { circleci } from "./circleci.js";
import { clerk } from "./clerk.js";
import { discord } from "./discord.js";
import { gitea } from "./gitea.js";
import { github } from "./github.js";
import { gitlab } from "./gitlab.js";
import { hmac } from "./hmac.js";
import { hubspot } from "./hubspot.js";
import { intercom } from "./intercom.js";
import { jira } from "./jira.js";
import { linear } from "./linear.js";
import { mailgun } from "./mailgun.js";
import { meraki } from "./meraki.js";
import { meta } from "./meta.js";
import { none } from "./none.js";
import { paddle } from "./paddle.js";
import { pagerduty } from "./pagerduty.js";
import { resend } from "./resend.js";
import { sendgrid } from "./sendgrid.js";
import { sentry } from "./sentry.js";
import { sharedSecret } from "./shared-secret.js";
import { shopify } from "./shopify.js";
import { slack } from "./slack.js";
import { square } from "./square.js";
import { standardWebhooks } from "./standard-webhooks.js";
import { stripe } from "./stripe.js";
import { svix } from "./svix.js";
import { tailscale } from "./tailscale.js";
import { telnyx } from "./telnyx.js";
import { token } from "./token.js";
import { twilio } from "./twilio.js";
import { twitch } from "./twitch.js";
import { typeform } from "./typeform.js";
import { vercel } from "./vercel.js";
import type { VerifierPlugin } from "./verifier.js";
import { zoom } from "./zoom.js";

/** Every verification scheme, by `verify.type`. An explicit list: adding one is one line here. */
export const verifiers: readonly VerifierPlugin[] = [
  github,
  gitea,
  gitlab,
  bitbucket,
  stripe,
  slack,
  shopify,
  standardWebhooks,
  linear,
  meta,
  typeform,
  intercom,
  vercel,
  sentry,
  jira,
  circleci,
  pagerduty,
  svix,
  resend,
  clerk,
  meraki,
  basic,
  sharedSecret,
  token,
  discord,
  telnyx,
  sendgrid,
  awsSns,
  twilio,
  square,
  zoom,
  twitch,
  paddle,
  tailscale,
  calendly,
  hubspot,
  mailgun,
  hmac,
  none,
];

export function findVerifier(type: string): VerifierPlugin | undefined {
  return verifiers.find((v) => v.type === type);
}
