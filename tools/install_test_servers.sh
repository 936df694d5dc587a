#!/usr/bin/env bash
# The contract tests (tests/contract) start a real PostgreSQL and redis-server 7 (with TLS) of their own.
# Installs them when missing: on Debian/Ubuntu with apt-get as root or with password-less sudo, starting
# no service (the tests run their own servers on loopback ports). Elsewhere it says what to install and
# fails, so `make test` stops with the reason rather than with every contract test failing.
set -euo pipefail

have_postgres() { command -v initdb >/dev/null 2>&1 || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null; }
have_redis() { command -v redis-server >/dev/null 2>&1; }

missing=()
have_postgres || missing+=(postgresql)
have_redis || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0

as_root=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then as_root="sudo"; else as_root="none"; fi
fi
if ! command -v apt-get >/dev/null 2>&1 || [ "$as_root" = "none" ]; then
  echo "The contract tests need ${missing[*]}:" >&2
  echo "  Debian/Ubuntu: sudo apt-get install -y postgresql redis-server" >&2
  echo "  macOS:         brew install postgresql@16 redis" >&2
  echo "  elsewhere:     PostgreSQL 13+ (initdb and postgres on PATH) and redis-server 7 built with TLS" >&2
  exit 1
fi

echo "Installing ${missing[*]} for the contract tests (tests/contract)"
# policy-rc.d exit 101: Debian's maintainer scripts start no service (invoke-rc.d's policy interface).
policy=/usr/sbin/policy-rc.d
own_policy=""
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $as_root tee "$policy" >/dev/null
  $as_root chmod 755 "$policy"
  own_policy=1
fi
cleanup() { if [ -n "$own_policy" ]; then $as_root rm -f "$policy"; fi; }
trap cleanup EXIT
$as_root apt-get update -qq
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
have_postgres && have_redis
