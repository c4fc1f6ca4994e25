#!/usr/bin/env bash
# The DPDK lab end to end: tools/lab/dpdk-lab.sh with the ferrited under test runs lab_e2e.py in
# the client namespace; afterwards the lab's namespaces must be gone.
#   lab_test.sh FERRITED [lab options: --workers N --partitions N --ports N]
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
suffix="t$$"
if [[ $(id -u) != 0 ]]; then
  echo "SKIP: the DPDK lab needs root (network namespaces)"
  exit 77
fi
ferrited="$1"
shift
FERRITED="$ferrited" FERRITE_SKIP_PACKAGES=1 timeout 600 "$here/../../tools/lab/dpdk-lab.sh" --suffix "$suffix" "$@" \
  --exec /usr/bin/python3 "$here/lab_e2e.py"
status=$?
if ip netns list | grep -qE "ferrite-(app|cli)-$suffix"; then
  echo "FAILED: the lab left its namespaces behind:" >&2
  ip netns list >&2
  ip netns del "ferrite-app-$suffix" 2>/dev/null
  ip netns del "ferrite-cli-$suffix" 2>/dev/null
  exit 1
fi
exit "$status"
