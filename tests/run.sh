#!/usr/bin/env bash
# The project's single test command (CI calls it through .ci/run).
#
#   tests/run.sh [pytest args...]
#
# Installs correlator[test] (editable), starts a real single-node Kafka broker on loopback with
# a throwaway state dir, runs pytest, and always stops the broker it started (on success,
# failure or interrupt). A broker that already answers at the address is reused, not stopped.
#
# Environment:
#   CORRELATOR_KAFKA_BOOTSTRAP  PLAINTEXT address, 127.0.0.1:PORT (default 127.0.0.1:9092)
#   CORRELATOR_KAFKA_SASL_PORT  SASL_PLAINTEXT/PLAIN listener port (default 9094)
#   CORRELATOR_KAFKA_TIMEOUT    seconds to wait for the broker to answer (default 90)
#   CORRELATOR_SKIP_INSTALL=1   skip the pip install step
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CORRELATOR_KAFKA_BOOTSTRAP="${CORRELATOR_KAFKA_BOOTSTRAP:-127.0.0.1:9092}"
export CORRELATOR_KAFKA_SASL_PORT="${CORRELATOR_KAFKA_SASL_PORT:-9094}"
kafka_timeout="${CORRELATOR_KAFKA_TIMEOUT:-90}"

say() { echo "tests/run.sh: $*" >&2; }

if [[ "${CORRELATOR_SKIP_INSTALL:-0}" != "1" ]]; then
  say "installing correlator[test] (editable) ..."
  python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
fi

state_dir="$(mktemp -d "${TMPDIR:-/tmp}/correlator-kafka.XXXXXX")"
started_here=0

kafka() {
  python3 -m correlator.stream.local_kafka "$@" \
    --bootstrap "$CORRELATOR_KAFKA_BOOTSTRAP" --data-dir "$state_dir"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "$started_here" == "1" ]]; then
    kafka down || say "warning: could not stop the Kafka broker (state in $state_dir)"
  fi
  if [[ "$started_here" != "1" ]] || ! kafka status >/dev/null 2>&1; then
    rm -rf "$state_dir"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if kafka status >/dev/null 2>&1; then
  say "reusing the Kafka broker already answering at $CORRELATOR_KAFKA_BOOTSTRAP (left running)"
else
  started_here=1
  kafka up --timeout "$kafka_timeout"
fi

set +e
python3 -m pytest "$@"
rc=$?
set -e

if [[ "$rc" == "5" ]]; then
  say "FAILURE: pytest collected no tests (exit 5); check the paths, -k or -m given: $*"
fi
exit "$rc"
