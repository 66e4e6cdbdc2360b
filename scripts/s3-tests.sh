#!/usr/bin/env bash
# Runs Ceph's s3-tests (s3tests/functional/test_s3.py of a checkout given as the first argument)
# against a Stocktake server started here on a free loopback port, with the suite's three accounts
# (main, alt, tenant), and prints pass/fail/error/skip counts by feature. Further arguments go to
# pytest (e.g. -k test_bucket_list). See docs/conformance.md for the selection and the results.
#
#   scripts/s3-tests.sh /path/to/s3-tests [pytest args...]
#
# Needs python3 with boto3, pytest, isodate, pytz, httplib2, lxml, requests and PyYAML
# (python3 -m pip install ...); `munch`, which the suite imports, is stood in for by
# scripts/s3-tests/munch.py. Environment: S3TESTS_TIMEOUT (seconds per test, default 60),
# S3TESTS_RESULTS (where the JSON of every outcome goes, default <work dir>/results.json),
# S3TESTS_KEEP=1 keeps the work directory (server log, data, config).
#
# S3TESTS_MOTO=/path/to/moto runs the same selection against moto's server instead, for
# comparison: the path is a source tree of moto (the directory holding its `moto` package),
# whose dependencies python3 must have (Flask and flask-cors among them).
set -euo pipefail

if [ $# -lt 1 ] || [ ! -f "$1/s3tests/functional/test_s3.py" ]; then
  echo "usage: $0 /path/to/s3-tests [pytest args...]" >&2
  exit 2
fi
suite=$(cd "$1" && pwd)
shift
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d -t stocktake-s3-tests-XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The suite's accounts. Stocktake account ids are 12 digits; keys are the suite's sample ones.
main_id=123456789012 main_key=0555b35654ad1656d804 main_secret='h7GhxuBLTrlhVUyxSPUKUV8r/2EI4ngqJxD7iBdBYLhwluN30JaT3Q=='
alt_id=210987654321 alt_key=NOPQRSTUVWXYZABCDEFG alt_secret=nopqrstuvwxyzabcdefghijklmnabcdefghijklm
tenant_id=345678901234 tenant_key=HIJKLMNOPQRSTUVWXYZA tenant_secret=opqrstuvwxyzabcdefghijklmnopqrstuvwxyzab

stocktake() { (cd "$root" && node --import tsx src/main.ts "$@"); }

server_pid=
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${S3TESTS_KEEP:-0}" != 1 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

wait_for_server() { # $1: a line the server logs once it listens
  for _ in $(seq 1 100); do
    grep -q "$1" "$work/server.log" 2>/dev/null && return 0
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1
}

start_stocktake() {
  # The suite's SSE-C tests speak plain HTTP (is_secure = False) to this loopback server.
  # Started as a process of its own (exec), so that the pid kept is the server's: the stocktake
  # function's subshell would be killed at the end and leave the server running.
  (cd "$root" && exec node --import tsx src/main.ts serve --host 127.0.0.1 --port "$port" --data-dir "$work/data" --region us-east-1 --allow-insecure-sse-c \
    --root-account-id "$main_id" --root-access-key "$main_key" --root-secret-key "$main_secret") >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_for_server "listening on"
  stocktake accounts create --data-dir "$work/data" --id "$alt_id" --access-key "$alt_key" --secret-key "$alt_secret" --json >/dev/null
  stocktake accounts create --data-dir "$work/data" --id "$tenant_id" --access-key "$tenant_key" --secret-key "$tenant_secret" --json >/dev/null

  # SSE-KMS tests name two keys of the main account; S3 answers with a key's ARN, so they are named by it.
  kms_key() { stocktake kms create-key --data-dir "$work/data" --account "$main_id" --description "s3-tests $1" --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["Arn"])'; }
  kms_key_1=$(kms_key 1)
  kms_key_2=$(kms_key 2)

  # The suite compares owners with the configured user ids and display names: give it ours.
  canonical() { (cd "$root" && node --import tsx -e "import('./src/auth/accounts.ts').then((m) => console.log(m.canonicalIdFor('$1')))"); }
  main_user=$(canonical $main_id) alt_user=$(canonical $alt_id) tenant_user=$(canonical $tenant_id)
  main_name=root alt_name=account-$alt_id tenant_name=account-$tenant_id
}

start_moto() {
  (cd "$work" && PYTHONPATH="$S3TESTS_MOTO" exec python3 -m moto.server -H 127.0.0.1 -p "$port") >"$work/server.log" 2>&1 &
  server_pid=$!
  wait_for_server "Running on"
  eval "$(python3 "$root/scripts/s3-tests/moto_setup.py" "http://127.0.0.1:$port")"
  # moto gives every bucket and object one owner, whichever account made it.
  main_user=75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a
  alt_user=$main_user tenant_user=$main_user
  main_name=webfile alt_name=webfile tenant_name=webfile
}

if [ -n "${S3TESTS_MOTO:-}" ]; then start_moto; else start_stocktake; fi

cat >"$work/s3tests.conf" <<CONF
[DEFAULT]
host = 127.0.0.1
port = $port
is_secure = False
ssl_verify = False

[fixtures]
bucket prefix = s3t-{random}-

[s3 main]
display_name = $main_name
user_id = $main_user
email = main@example.com
kms_keyid = $kms_key_1
kms_keyid2 = $kms_key_2
access_key = $main_key
secret_key = $main_secret

[s3 alt]
display_name = $alt_name
user_id = $alt_user
email = alt@example.com
access_key = $alt_key
secret_key = $alt_secret

[s3 tenant]
display_name = $tenant_name
user_id = $tenant_user
email = tenant@example.com
access_key = $tenant_key
secret_key = $tenant_secret
tenant = testx

[iam]
email = iam@example.com
user_id = 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
access_key = ABCDEFGHIJKLMNOPQRST
secret_key = abcdefghijklmnopqrstuvwxyzabcdefghijklmn
display_name = iam

[iam root]
access_key = AAAAAAAAAAAAAAAAAAaa
secret_key = aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
user_id = RGW11111111111111111
email = account1@example.com

[iam alt root]
access_key = BBBBBBBBBBBBBBBBBBbb
secret_key = bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
user_id = RGW22222222222222222
email = account2@example.com
CONF

# AWS behaviour only: not the tests S3 itself fails, nor those of Ceph-only features (IAM's own
# API, cloud tiers). The plugin also leaves out the tests that wait on lifecycle days sped up by
# RGW's debug interval. docs/conformance.md explains.
selection="not fails_on_aws and not iam_account and not iam_user and not cloud_transition and not cloud_restore and not target_by_bucket"

cd "$suite"
S3TEST_CONF="$work/s3tests.conf" \
  S3TESTS_RESULTS="${S3TESTS_RESULTS:-$work/results.json}" \
  PYTHONPATH="$root/scripts/s3-tests${PYTHONPATH:+:$PYTHONPATH}" \
  python3 -m pytest s3tests/functional/test_s3.py -p stocktake_pytest -m "$selection" -q -o addopts= \
  -p no:cacheprovider --no-header -rN "$@" || status=$?
# Request lines of 5xx answers (501 NotImplemented among them) are at error too; count the rest.
if [ -z "${S3TESTS_MOTO:-}" ]; then
  echo "server log: $(grep '"level":"error"' "$work/server.log" | grep -vc '"msg":"request"' || true) error lines" >&2
fi
exit "${status:-0}"
