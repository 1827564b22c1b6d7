#!/bin/sh
# The container's entry point (under tini): before `serve`, check the two things a first
# `docker run` gets wrong, and say how to fix them in Docker's terms rather than letting the
# daemon fail with "file not found" or SQLite's "attempt to write a readonly database".
# Then exec node, so that signals reach the daemon directly.
set -eu

app="${SWITCHYARD_APP:-/app/dist/src/main.js}"
config="${SWITCHYARD_CONFIG:-/config/switchyard.yaml}"
data="${SWITCHYARD_DATA_DIR:-/data}"

fail() {
  printf 'switchyard: %s\n' "$@" >&2
  exit 1
}

explicit_config=no
for arg in "$@"; do
  case "$arg" in -c | --config | --config=*) explicit_config=yes ;; esac
done

if [ "${1:-serve}" = serve ]; then
  if [ "$explicit_config" = no ] && [ ! -f "$config" ]; then
    config_dir=$(dirname "$config")
    fail "no config file at $config." \
      "Mount the folder that holds your switchyard.yaml at $config_dir (the folder, not the file, so edits are seen):" \
      "  docker run -v \"\$PWD/myconfig:$config_dir:ro\" -v switchyard-data:$data ... switchyard" \
      "examples/docker/switchyard.yaml in the repository is a starting point; SWITCHYARD_CONFIG names another file."
  fi
  if [ -d "$data" ]; then
    unwritable=""
    [ -w "$data" ] || unwritable="$data"
    # The store's own files (SQLite with its WAL): a root-owned one left by an earlier run as
    # root fails every write. Other files (lost+found) are none of our business.
    for f in "$data"/*.db "$data"/*.db-wal "$data"/*.db-shm; do
      if [ -e "$f" ] && [ ! -w "$f" ]; then unwritable="${unwritable:+$unwritable }$f"; fi
    done
    if [ -n "$unwritable" ]; then
      uid=$(id -u)
      gid=$(id -g)
      fail "$unwritable: not writable by this container's user (uid $uid, gid $gid), so the store cannot be written." \
        "If $data is a bind mount of a host folder, give that folder to uid $uid; on the host run:" \
        "  sudo chown -R $uid:$gid /path/to/the/host/folder" \
        "or mount a named volume instead (-v switchyard-data:$data), which Docker creates writable for it."
    fi
  fi
fi

exec node "$app" "$@"
