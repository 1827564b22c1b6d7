import { basic } from "./basic.js";
import { bitbucket } from "./bitbucket.js";
import { circleci } from "./circleci.js";
import { clerk } from "./clerk.js";
import { gitea } from "./gitea.js";
import { github } from "./github.js";
import { gitlab } from "./gitlab.js";
import { hmac } from "./hmac.js";
import { intercom } from "./intercom.js";
import { jira } from "./jira.js";
import { linear } from "./linear.js";
import { meraki } from "./meraki.js";
import { meta } from "./meta.js";
import { none } from "./none.js";
import { pagerduty } from "./pagerduty.js";
import { resend } from "./resend.js";
import { sentry } from "./sentry.js";
import { sharedSecret } from "./shared-secret.js";
import { shopify } from "./shopify.js";
import { slack } from "./slack.js";
import { standardWebhooks } from "./standard-webhooks.js";
import { stripe } from "./stripe.js";
import { svix } from "./svix.js";
import { token } from "./token.js";
import { typeform } from "./typeform.js";
import { vercel } from "./vercel.js";
import type { VerifierPlugin } from "./verifier.js";

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
  hmac,
  none,
];

export function findVerifier(type: string): VerifierPlugin | undefined {
  return verifiers.find((v) => v.type === type);
}
