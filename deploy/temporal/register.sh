#!/bin/sh
# Creates the namespace and registers Offboard's search attributes (workflows.SearchAttributes();
# deploy's test keeps this list in step with the code). Runs once in temporalio/admin-tools after
# the server is healthy; re-running is safe.
set -eu
: "${TEMPORAL_ADDRESS:?}"
ns=${TEMPORAL_NAMESPACE:-default}
tries=0
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do
  tries=$((tries + 1))
  [ "$tries" -lt 60 ] || { echo "Temporal at $TEMPORAL_ADDRESS is not healthy after 2 minutes" >&2; exit 1; }
  sleep 2
done
temporal operator namespace describe --address "$TEMPORAL_ADDRESS" -n "$ns" >/dev/null 2>&1 ||
  temporal operator namespace create --address "$TEMPORAL_ADDRESS" -n "$ns" --retention 30d
add() {
  if temporal operator search-attribute list --address "$TEMPORAL_ADDRESS" -n "$ns" | grep -qw "$1"; then
    echo "search attribute $1 exists"
  else
    temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" -n "$ns" --name "$1" --type "$2"
  fi
}
add GenesysUserId Keyword
add OffboardingStage Keyword
add OffboardingDisposition Keyword
add OffboardingRequestedBy Keyword
add OffboardingRetentionUntil Datetime
add OffboardingBatchId Keyword
echo "namespace $ns and search attributes are ready"
