#!/bin/sh
# Called by Switchyard as: reply.sh <the command's text> <user name>. What it prints is the
# reply Slack shows (plain text; print JSON and set respond.content_type: application/json for
# Block Kit). Exit non-zero to answer on_failure and have it retried.
set -eu
what="$1"
who="$2"
# ./deploy "$what"
echo "Deployed $what for $who."
