#!/usr/bin/env bash
# A DPDK lab on a machine without a NIC or hugepages: two network namespaces joined by a veth,
# ferrited on the DPDK driver in one (net_af_packet on its end of the veth, --no-huge --no-pci),
# a kernel client in the other. Builds ferrited (build/release) unless FERRITED names a binary.
# Everything it creates is removed when it exits (Ctrl-C, or the end of --exec).
#
#   tools/lab/dpdk-lab.sh                 start the lab, print what to type, wait for Ctrl-C
#   tools/lab/dpdk-lab.sh --exec CMD...   run CMD in the client namespace once ferrited serves,
#                                         then tear down; exits with CMD's status
#   options: --workers N (default 1; one af_packet queue pair each), --partitions N (server.partitions,
#            default 0: one per NUMA node), --ports N (1 or 2 DPDK ports, default 1: see below),
#            --suffix S (namespace names end in -S; default: none)
#
# The lab (198.18.0.0/15 is the benchmarking range of RFC 2544, never routed):
#   ferrite-cli:  veth "cli0" 198.18.0.1/24                         (the client: any kernel tool)
#   ferrite-app:  veth "app0" without an address, used by DPDK through net_af_packet; the
#                 exception interface "fe0" (a TAP ferrited creates) carries 198.18.0.2/24 and the
#                 port's MAC, so the kernel serves TCP (memcached, RESP, HTTP, binary) on it.
# With --ports 2, a second veth joins them as a second DPDK port, its own interface:
#   ferrite-cli:  veth "cli1" 198.19.0.1/24;  ferrite-app: veth "app1" (DPDK port 1), exception
#                 interface "fe1" with 198.19.0.2/24.
# UDP to 7070 (binary protocol) and 11211 (memcached UDP), ARP and ping are answered by the DPDK
# fast path; everything else goes through fe0 to the kernel and back out of the port. The lab's
# own prefix is in udp.allow (no one outside can forge it), so multi-key UDP gets are not held to
# the reflection bound.
# Must run as root (namespaces, DPDK). Traffic never leaves the two namespaces.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
workers=1
partitions=0
ports=1
suffix=""
exec_cmd=()
while (($#)); do
  case "$1" in
    --workers) workers="$2"; shift 2 ;;
    --partitions) partitions="$2"; shift 2 ;;
    --ports) ports="$2"; shift 2 ;;
    --suffix) suffix="-$2"; shift 2 ;;
    --exec) shift; exec_cmd=("$@"); break ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "dpdk-lab: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ $ports == 1 || $ports == 2 ]] || { echo "dpdk-lab: --ports is 1 or 2, not '$ports'" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "dpdk-lab: must run as root (network namespaces, DPDK)" >&2; exit 1; }

APP="ferrite-app$suffix"
CLI="ferrite-cli$suffix"
# Port i: the veths app<i>/cli<i>, the exception interface fe<i>, the prefix 198.(18+i).0.0/24.
SERVER_IPS=(198.18.0.2 198.19.0.2)
CLIENT_IPS=(198.18.0.1 198.19.0.1)
SERVER_IP=${SERVER_IPS[0]}
CLIENT_IP=${CLIENT_IPS[0]}
# The lab's own directory (ferrited's output, its management socket); removed on exit.
STATE="$(mktemp -d /tmp/ferrite-lab.XXXXXX)"
pid=""

cleanup() {
  local status=$?
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  ip netns del "$APP" 2>/dev/null || true
  ip netns del "$CLI" 2>/dev/null || true
  rm -rf "$STATE"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${FERRITED:-} ]]; then
  # shellcheck source=tools/common.sh
  source "$ROOT/tools/common.sh"
  [[ ${FERRITE_SKIP_PACKAGES:-0} == 1 ]] || ferrite_install_packages
  ferrite_configure release >/dev/null
  ferrite_build release
  FERRITED="$ROOT/build/release/src/server/ferrited"
fi
[[ -x $FERRITED ]] || { echo "dpdk-lab: $FERRITED is not an executable" >&2; exit 1; }

for ns in "$APP" "$CLI"; do
  if ip netns list | grep -qw "$ns"; then
    echo "dpdk-lab: namespace $ns exists already (another lab running? use --suffix)" >&2
    trap - EXIT; rm -rf "$STATE"; exit 1
  fi
done
ip netns add "$APP"
ip netns add "$CLI"
ip -n "$APP" link set lo up
ip -n "$CLI" link set lo up
# The appliance's veth ends are DPDK's: their own kernel stack must stay out of the way. They have
# no address; they answer no ARP (arp_ignore 8), take no IPv6, and drop IPv4 for our addresses by
# the reverse-path check (the route to the client is through fe<i>, not app<i>).
ip netns exec "$APP" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ip netns exec "$APP" sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1
vdevs=""
addresses=""
ifaces=""
port_ids=""
for ((i = 0; i < ports; i++)); do
  ip -n "$APP" link add "app$i" type veth peer name "cli$i" netns "$CLI"
  ip netns exec "$APP" sysctl -qw "net.ipv4.conf.app$i.rp_filter=1" "net.ipv4.conf.app$i.arp_ignore=8"
  ip -n "$APP" link set "app$i" up
  ip -n "$CLI" addr add "${CLIENT_IPS[$i]}/24" dev "cli$i"
  ip -n "$CLI" link set "cli$i" up
  ip netns exec "$CLI" sysctl -qw "net.ipv6.conf.cli$i.disable_ipv6=1"
  # A veth leaves checksums to the receiving kernel (offload); DPDK reads the frames raw. The
  # client computes them, as a host behind a real link does.
  ip netns exec "$CLI" ethtool -K "cli$i" tx off >/dev/null
  vdevs+=" --vdev=net_af_packet$i,iface=app$i,qpairs=$workers"
  addresses+="${addresses:+,}${SERVER_IPS[$i]}/24"
  ifaces+="${ifaces:+,}fe$i"
  port_ids+="${port_ids:+,}$i"
done

ip netns exec "$APP" "$FERRITED" \
  --set server.driver=dpdk \
  --set server.workers="$workers" \
  --set server.partitions="$partitions" \
  --set server.memory=256MiB \
  --set dpdk.eal_args="--no-huge --no-pci -m 512 --no-shconf --log-level=warning$vdevs" \
  --set dpdk.ports="$port_ids" \
  --set dpdk.address="$addresses" \
  --set dpdk.exception_iface="$ifaces" \
  --set udp.allow=198.18.0.0/15 \
  --set listen.memcache=0.0.0.0:11211 \
  --set listen.memcache_udp="$SERVER_IP:11211" \
  --set listen.resp=0.0.0.0:6379 \
  --set listen.http=0.0.0.0:8080 \
  --set listen.binary=0.0.0.0:7070 \
  --set listen.binary_udp="$SERVER_IP:7070" \
  --set mgmt.socket="$STATE/ferrited.sock" \
  >"$STATE/stdout" 2>"$STATE/stderr" &
pid=$!
for _ in $(seq 300); do
  grep -q "ferrited ready" "$STATE/stdout" 2>/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if ! grep -q "ferrited ready" "$STATE/stdout" 2>/dev/null; then
  echo "dpdk-lab: ferrited did not start:" >&2
  cat "$STATE/stderr" >&2
  exit 1
fi
cat "$STATE/stderr" >&2

if ((${#exec_cmd[@]})); then
  set +e
  ip netns exec "$CLI" env FERRITE_LAB_SERVER="$SERVER_IP" FERRITE_LAB_SOCKET="$STATE/ferrited.sock" \
    FERRITE_LAB_SERVERS="${SERVER_IPS[*]:0:$ports}" \
    FERRITE_LAB_PARTITIONS="$partitions" "${exec_cmd[@]}"
  status=$?
  set -e
  kill -0 "$pid" 2>/dev/null || { echo "dpdk-lab: ferrited died:" >&2; cat "$STATE/stderr" >&2; exit 1; }
  exit "$status"
fi

cat <<HOW
ferrited serves $SERVER_IP through DPDK (namespace $APP). In another shell, from the client
namespace ($CLI, $CLIENT_IP):
  ping (DPDK fast path)      ip netns exec $CLI ping -c 3 $SERVER_IP
  memcached UDP (fast path)  ip netns exec $CLI /usr/bin/python3 -c 'import socket; s = socket.socket(type=socket.SOCK_DGRAM); s.sendto(b"\\0\\1\\0\\0\\0\\1\\0\\0set k 0 0 5\\r\\nhello\\r\\n", ("$SERVER_IP", 11211)); print(s.recv(100))'
  memcached TCP (exception)  ip netns exec $CLI bash -c 'exec 3<>/dev/tcp/$SERVER_IP/11211; printf "get k\\r\\n" >&3; timeout 1 cat <&3'
  Redis (exception path)     ip netns exec $CLI redis-cli -h $SERVER_IP -p 6379 get k
  binary protocol over UDP   ip netns exec $CLI $ROOT/build/release/tools/ferrite_bench/ferrite-bench --protocol binary --server $SERVER_IP:7070 --duration 5
  management                 ip netns exec $APP $ROOT/build/release/tools/ferritectl/ferritectl --socket $STATE/ferrited.sock info
Ctrl-C stops ferrited and removes both namespaces.
HOW
if ((ports > 1)); then
  echo "The second DPDK port serves ${SERVER_IPS[1]} (from ${CLIENT_IPS[1]} on cli1) the same way."
fi
wait "$pid"
