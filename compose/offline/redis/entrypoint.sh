#!/bin/sh
# Like the official redis image: without a config file, reachable from
# other containers (protected mode off). A config file stays first.
set -eu
if [ "${1:-}" = "redis-server" ]; then
  shift
  case "${1:-}" in
    ""|-*) exec redis-server --protected-mode no "$@" ;;
    *) conf=$1; shift; exec redis-server "$conf" --protected-mode no "$@" ;;
  esac
fi
exec "$@"
