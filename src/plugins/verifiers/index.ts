import { awsSns } from "./aws-sns.js";
import { bitbucket } from "./bitbucket.js";
import { calendly } from "./calendly.js";
import { discord } from "./discord.js";
import { gitea } from "./gitea.js";
import { github } from "./github.js";
import { gitlab } from "./gitlab.js";
import { hmac } from "./hmac.js";
import { hubspot } from "./hubspot.js";
import { linear } from "./linear.js";
import { mailgun } from "./mailgun.js";
import { none } from "./none.js";
import { paddle } from "./paddle.js";
import { sendgrid } from "./sendgrid.js";
import { sharedSecret } from "./shared-secret.js";
import { shopify } from "./shopify.js";
import { slack } from "./slack.js";
import { square } from "./square.js";
import { standardWebhooks } from "./standard-webhooks.js";
import { stripe } from "./stripe.js";
import { tailscale } from "./tailscale.js";
import { telnyx } from "./telnyx.js";
import { token } from "./token.js";
import { twilio } from "./twilio.js";
import { twitch } from "./twitch.js";
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
