#!/usr/bin/env bash
# Runs the KV cluster as separate hosts on one machine: each node in its own network
# namespace with its own address on a private bridge, in a link-local /24 (default
# 169.254.77.0/24; the bridge has no uplink and the namespaces no default route, so
# nothing leaves the machine). Needs root (ip netns).
#
#   sudo scripts/netns-cluster.sh run [--nodes 3] [--subnet 169.254.77]   # Ctrl-C cleans up
#   sudo scripts/netns-cluster.sh up <name> <nodes> [subnet]    # only the network (the test)
#   sudo scripts/netns-cluster.sh down <name> <nodes>           # remove it (idempotent)
#
# Node i lives in namespace <name>-n<i> at <subnet>.<i>; this host reaches them through
# the bridge at <subnet>.254. Every node uses the same ports (Raft 7001, HTTP 8001), as
# separate machines would. The subnet must not be routed on this machine already.
set -euo pipefail

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

die() { echo "netns-cluster: $*" >&2; exit 2; }

check_name() {
  [[ "$1" =~ ^[a-z][a-z0-9]{0,7}$ ]] || die "name must be 1-8 lower-case letters or digits, starting with a letter (interface names are short)"
}
check_nodes() {
  [[ "$1" =~ ^[1-9]$ ]] || die "nodes: 1 to 9"
}

bridge() { echo "$1-br"; }

check_subnet() {
  [[ "$1" =~ ^169\.254\.([0-9]{1,3})$ ]] || die "subnet: 169.254.<n> (link-local)"
  local n=${BASH_REMATCH[1]}
  { [ "$n" -ge 1 ] && [ "$n" -le 254 ] && [ "$n" -ne 169 ]; } || die "subnet: 169.254.1 to 169.254.254, not 169.254.169"
  [ -z "$(ip route show "$1.0/24")" ] || die "$1.0/24 is already routed on this machine; pick another --subnet"
}

up() {
  local name=$1 nodes=$2 subnet=$3
  local br; br=$(bridge "$name")
  ip link add "$br" type bridge
  ip addr add "$subnet.254/24" dev "$br"
  ip link set "$br" up
  for i in $(seq 1 "$nodes"); do
    local ns="$name-n$i"
    ip netns add "$ns"
    ip link add "$name-v$i" type veth peer name eth0 netns "$ns"
    ip link set "$name-v$i" master "$br" up
    ip -n "$ns" addr add "$subnet.$i/24" dev eth0
    ip -n "$ns" link set eth0 up
    ip -n "$ns" link set lo up
  done
}

down() {
  local name=$1 nodes=$2
  for i in $(seq 1 "$nodes"); do
    local ns="$name-n$i"
    # Processes left in the namespace go first (deleting it does not stop them).
    if ip netns pids "$ns" >/dev/null 2>&1; then
      for pid in $(ip netns pids "$ns"); do kill -KILL "$pid" 2>/dev/null || true; done
      ip netns del "$ns" 2>/dev/null || true
    fi
    ip link del "$name-v$i" 2>/dev/null || true
  done
  ip link del "$(bridge "$name")" 2>/dev/null || true
}

run() {
  local nodes=3 subnet=169.254.77
  while [ $# -gt 0 ]; do
    case "$1" in
      --nodes) nodes=${2:-}; shift 2 ;;
      --subnet) subnet=${2:-}; shift 2 ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option $1 (try --help)" ;;
    esac
  done
  check_nodes "$nodes"
  check_subnet "$subnet"
  local name="rxkv$$"; name=${name:0:8}
  local root; root=$(mktemp -d "${TMPDIR:-/tmp}/rxraft-netns-XXXXXX")
  local repo; repo=$(cd "$(dirname "$0")/.." && pwd)
  local secret_file="$root/secret"
  head -c 24 /dev/urandom | base64 > "$secret_file"
  chmod 600 "$secret_file"
  local pids=()
  cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    sleep 1
    down "$name" "$nodes"
    rm -rf "$root"
    echo "netns-cluster: stopped; namespaces and $root removed"
  }
  trap cleanup EXIT INT TERM
  up "$name" "$nodes" "$subnet"
  local peers=""
  for i in $(seq 1 "$nodes"); do peers+="${peers:+,}n$i=$subnet.$i:7001"; done
  for i in $(seq 1 "$nodes"); do
    ip netns exec "$name-n$i" node "$repo/node_modules/.bin/ts-node" --transpile-only "$repo/examples/kv-server.ts" \
      --id "n$i" --raft "$subnet.$i:7001" --http "$subnet.$i:8001" --data "$root/n$i" \
      --peers "$peers" --secret-file "$secret_file" --log-format pretty &
    pids+=($!)
  done
  cat <<MSG
netns-cluster: $nodes nodes in namespaces $name-n1..$name-n$nodes, at $subnet.1..$subnet.$nodes

  curl -L -X PUT --data-binary hello http://$subnet.1:8001/kv/greeting
  curl -L http://$subnet.2:8001/kv/greeting
  curl -L http://$subnet.1:8001/members
  ip -n $name-n1 link set eth0 down     # cut n1 off the network; 'up' to heal

Ctrl-C stops the nodes and removes the namespaces.
MSG
  wait
}

cmd=${1:-}
shift || true
case "$cmd" in
  -h|--help|help) usage ;;
  up)
    [ $# -ge 2 ] && [ $# -le 3 ] || die "usage: $0 up <name> <nodes> [subnet]"
    check_name "$1"; check_nodes "$2"
    [ "$(id -u)" -eq 0 ] || die "needs root (ip netns)"
    check_subnet "${3:-169.254.77}"
    up "$1" "$2" "${3:-169.254.77}" ;;
  down)
    [ $# -eq 2 ] || die "usage: $0 down <name> <nodes>"
    check_name "$1"; check_nodes "$2"
    [ "$(id -u)" -eq 0 ] || die "needs root (ip netns)"
    down "$1" "$2" ;;
  run)
    [ "$(id -u)" -eq 0 ] || die "needs root (ip netns)"
    run "$@" ;;
  *) usage >&2; exit 2 ;;
esac
