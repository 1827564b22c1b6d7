#!/bin/sh
# Called by Switchyard as: deploy.sh <owner/repo> <commit sha>, with GIT_REF and PUSHER set.
# The whole event is on stdin as JSON if you need more of it. Exit non-zero to have it retried.
set -eu
repo="$1"
sha="$2"
echo "deploying $repo at $sha ($GIT_REF, pushed by $PUSHER)"
# cd /srv/app && git fetch --quiet origin && git checkout --quiet "$sha" && systemctl restart app
