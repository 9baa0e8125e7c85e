#!/usr/bin/env bash
# The cluster test: Offboard in its production shape on this machine, through crashes and restarts.
# It builds the binaries, then deploy/clustertest starts a private PostgreSQL (deploy/postgres.sh,
# which installs Debian's package when it is missing), the Temporal server on it as a process of
# its own, the Genesys emulator, three workers and two HR API replicas; it offboards a hundred
# people while it SIGKILLs a worker mid-export, restarts every worker in turn, then the Temporal
# server, then PostgreSQL; and it checks every outcome, the emulator's call log for side effects
# done twice, and every bundle. Exit 0 only when every check holds; the last line sums it up.
#
#   bash deploy/cluster-test.sh [clustertest flags, e.g. --runs 200]
#
# Everything it starts is stopped on exit, also on failure or Ctrl-C; on failure the logs stay in
# the scratch directory it names.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/offboard-cluster.XXXXXX")"
# As root, PostgreSQL runs as the postgres user, who must reach the data directory.
chmod 755 "$work"

cleanup() {
  local status=$?
  # The driver stops what it started; this covers a driver that was itself killed. Its children
  # die with it (PR_SET_PDEATHSIG), but pg_ctl's server is a daemon.
  bash "$repo/deploy/postgres.sh" stop "$work/pg" >/dev/null 2>&1 || true
  if [ "$status" -eq 0 ]; then rm -rf "$work"; else echo "cluster-test: logs kept in $work/logs" >&2; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cd "$repo"
go build -o "$work/bin/" ./worker ./starter ./emulator ./devstack ./deploy/clustertest
# In the background, so that an interrupt reaches the driver, which stops its processes itself.
"$work/bin/clustertest" --bin "$work/bin" --work "$work" --repo "$repo" "$@" &
driver=$!
trap 'kill -TERM "$driver" 2>/dev/null; wait "$driver"; exit 130' INT TERM
wait "$driver"
