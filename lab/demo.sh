#!/usr/bin/env bash
# ./ambient demo: a 2-node lab mesh, an echo server and clients, mTLS with SPIFFE identities, an L4
# policy, the metric lines. Everything it creates is removed at the end, also on Ctrl-C or failure.
# Uses its own lab state (/run/ambient-lab-demo) and subnet (198.18.100.0/24, pods 198.18.101-102.0/24),
# so a lab you run yourself is left alone.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
AMBIENT="$ROOT/ambient"
export AMBIENT_LAB_DIR=/run/ambient-lab-demo
SUBNET=100
NS=demo
PORT=8080

if [[ "$(id -u)" != 0 ]]; then
  echo "The demo needs root: it creates network namespaces, veth links and iptables rules." >&2
  echo "Run it as: sudo ./ambient demo" >&2
  exit 1
fi

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
note() { printf '   %s\n' "$*"; }
lab() { "$AMBIENT" lab "$@"; }

cleaned=0
PREFIX=""
expected_failure=0  # set when the demo ends incomplete for a reason it already explained
cleanup() {
  local rc=$?
  [[ $cleaned == 1 ]] && return
  cleaned=1
  if [[ $rc != 0 && $expected_failure == 0 && -d "$AMBIENT_LAB_DIR" ]]; then
    KEPT=$(mktemp -d /tmp/ambient-demo-logs.XXXXXX)
    cp -r "$AMBIENT_LAB_DIR"/nodes "$AMBIENT_LAB_DIR"/pods "$AMBIENT_LAB_DIR.log" "$KEPT"/ 2>/dev/null
    find "$KEPT" -type s -delete
    say "Kept the logs of this run in $KEPT"
  fi
  if [[ -z "$PREFIX" ]]; then  # interrupted before the lab was ready: the supervisor wrote it at its start
    PREFIX=$(sed -n 's/^prefix=//p' "$AMBIENT_LAB_DIR"/starting.properties 2>/dev/null)
  fi
  say "Tearing down"
  lab down | sed 's/^/   /'
  rm -f "$AMBIENT_LAB_DIR.log"
  if [[ -n "$PREFIX" ]]; then
    local ns links procs
    ns=$(ip netns list | grep -c "^$PREFIX-" || true)
    links=$(ip -o link show | grep -c " $PREFIX-" || true)
    procs=$(pgrep -fc -- "$AMBIENT_LAB_DIR/" || true)
    note "left behind by this demo: $ns network namespaces, $links links, $procs processes"
    note "(pod rules lived in the pod and node namespaces, the ZDS and plugin sockets in $AMBIENT_LAB_DIR: all gone)"
  fi
}
trap cleanup EXIT
trap 'echo; echo "interrupted: cleaning up"; expected_failure=1; exit 130' INT TERM

# A one-line TCP echo server: answers each connection with its name and the peer address it sees.
SERVER_PY='import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen()
while True:
    c,a=s.accept()
    try: c.sendall(("hello from echo-server, you are %s\n" % a[0]).encode())
    finally: c.close()'

# Prometheus lines on stdin -> the echo-server's opened/failed connection counters, with the labels that matter here.
METRICS_PY='import re, sys
keep = ("reporter", "source_workload", "source_principal", "connection_security_policy", "response_flags")
for line in sys.stdin:
    m = re.match(r"(istio_tcp_connections_(?:opened|failed)_total)\{(.*)\} (\S+)$", line.strip())
    if not m:
        continue
    name, labels, value = m.groups()
    d = dict(re.findall(r"(\w+)=\"([^\"]*)\"", labels))
    if d.get("destination_workload") != "echo-server":
        continue
    print("%s{%s} %s" % (name, ",".join("%s=\"%s\"" % (k, d.get(k, "")) for k in keep), value))'

# request POD: one TCP request to the echo server; prints the answer or the failure.
request() {
  local out
  if out=$(lab exec "$1" --namespace $NS -- timeout 5 bash -c "exec 3<>/dev/tcp/$SERVER_IP/$PORT && cat <&3" 2>&1) \
      && [[ -n "$out" ]]; then
    note "OK   $1 -> echo-server: $out"
    return 0
  fi
  note "FAIL $1 -> echo-server: ${out:-connection closed without an answer}"
  return 1
}

say "Starting a 2-node lab (control plane, API server, node agent + ztunnel per node)"
lab up --nodes 2 --subnet $SUBNET | sed 's/^/   /' || { echo "lab up failed" >&2; exit 1; }

MESH=1
NOMESH=""
if grep -q '^SKIPPED' "$AMBIENT_LAB_DIR/processes.txt" 2>/dev/null; then
  MESH=0
  say "The mesh parts are not available in this build"
  grep '^SKIPPED' "$AMBIENT_LAB_DIR/processes.txt" | cut -f2- | sed 's/^/   /'
  note "The demo goes on without the mesh (pods labelled istio.io/dataplane-mode=none, plain TCP, no"
  note "identities, no policy) and ends with exit code 1."
  NOMESH=",istio.io/dataplane-mode=none"
fi
STATUS=$(lab status)
NODE0=$(sed -n 's/^node-0: netns \([^,]*\),.*/\1/p' <<<"$STATUS")
PREFIX=$(sed -n 's/^lab \(alb[0-9a-f]*\):.*/\1/p' <<<"$STATUS")

say "Creating pods through the istio-cni plugin (namespace '$NS' is labelled istio.io/dataplane-mode=ambient)"
SERVER_IP=$(lab pod add echo-server --node node-0 --namespace $NS --service-account echo-server --labels "app=echo$NOMESH" \
    -- python3 -c "$SERVER_PY" $PORT | sed -n 's/.*: \(198\.[0-9.]*\).*/\1/p')
[[ -n "$SERVER_IP" ]] || { echo "pod add echo-server failed (the reason is above)" >&2; exit 1; }
note "$(printf '%-12s %s  %s  service account %s' echo-server node-0 "$SERVER_IP" echo-server)"
note "(in the mesh each pod's identity is spiffe://cluster.local/ns/$NS/sa/<service account>)"
for spec in "client-near node-0 client" "client-far node-1 client" "intruder node-1 intruder"; do
  set -- $spec
  ip=$(lab pod add "$1" --node "$2" --namespace $NS --service-account "$3" --labels "app=$1$NOMESH" \
      | sed -n 's/.*: \(198\.[0-9.]*\).*/\1/p')
  [[ -n "$ip" ]] || { echo "pod add $1 failed (the reason is above)" >&2; exit 1; }
  note "$(printf '%-12s %s  %s  service account %s' "$1" "$2" "$ip" "$3")"
done
lab status | sed -n '/^pods:/,$p' | sed 's/^/   /'

say "Requests: same node (client-near) and across nodes (client-far)"
ok=1
for i in $(seq 1 20); do request client-near >/dev/null 2>&1 && break; sleep 0.5; done  # the server starting
request client-near || ok=0
request client-far || ok=0
ok_plain=$ok

if [[ $MESH == 1 ]]; then
  say "What the server side's ztunnel saw (node-0, inbound): the peer's SPIFFE identity over mTLS"
  note "(count, source pod, the identity its client certificate proved, the server's own identity)"
  grep 'connection complete' "$AMBIENT_LAB_DIR/nodes/node-0/ztunnel.log" | grep 'direction="inbound"' \
      | grep -o 'src.workload="[^"]*"\|src.identity="[^"]*"\|dst.identity="[^"]*"' | paste -d' ' - - - \
      | sort | uniq -c | sed 's/^/   /'

  say "An L4 policy: deny the intruder's identity at echo-server"
  POLICY=$(mktemp --suffix=.yaml)
  cat > "$POLICY" <<EOF
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: deny-intruder, namespace: $NS}
spec:
  selector: {matchLabels: {app: echo}}
  action: DENY
  rules:
  - from:
    - source: {principals: ["cluster.local/ns/$NS/sa/intruder"]}
EOF
  sed 's/^/   | /' "$POLICY"
  lab apply -f "$POLICY" | sed 's/^/   /'
  rm -f "$POLICY"
  denied=0
  for i in $(seq 1 20); do  # the control plane pushes the policy within a second or two
    if ! lab exec intruder --namespace $NS -- timeout 5 bash -c "exec 3<>/dev/tcp/$SERVER_IP/$PORT && cat <&3" \
        >/dev/null 2>&1; then denied=1; break; fi
    sleep 0.5
  done
  request client-far || ok=0
  if [[ $denied == 1 ]]; then
    note "DENIED intruder -> echo-server: its ztunnel's HBONE connection was refused by echo-server's ztunnel"
    grep 'connection complete' "$AMBIENT_LAB_DIR/nodes/node-0/ztunnel.log" | grep 'sa/intruder' | tail -1 \
        | grep -o 'src.identity="[^"]*"\|error="[^"]*"' | paste -sd' ' | sed 's/^/   node-0 ztunnel log: /'
  else
    note "FAIL the intruder got through: the policy did not apply"
    ok=0
  fi

  say "Metric lines (ztunnel on node-0, :15020/metrics)"
  ip netns exec "$NODE0" bash -c "exec 3<>/dev/tcp/127.0.0.1/15020 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3" \
      2>/dev/null | python3 -c "$METRICS_PY" | sed 's/^/   /'
  note "(reporter=\"destination\": counted by echo-server's ztunnel; all labels: curl the same URL)"
else
  say "Published workloads (plain TCP until the node agent reports the pod captured)"
  grep -h 'protocol:' "$AMBIENT_LAB_DIR"/config/pods/*.yaml | sort | uniq -c | sed 's/^/   /'
  ok=0
  [[ $ok_plain == 1 ]] && expected_failure=1
fi

say "Where to look next"
note "your own lab:   sudo ./ambient lab up; sudo ./ambient lab pod add NAME --node node-0 [-- COMMAND]"
note "                sudo ./ambient lab status; sudo ./ambient lab down            (docs/lab.md)"
note "logs:           /run/ambient-lab/nodes/node-*/{ztunnel,cni-agent}.log, /run/ambient-lab.log"
note "                (this demo removes its own; after a failure they are copied to /tmp/ambient-demo-logs.*)"
note "ztunnel admin:  sudo ip netns exec <node netns> curl -s 127.0.0.1:15000/config_dump   (workloadState: the pod proxies)"
note "metrics:        curl -s 198.18.0.10:15020/metrics   (node-0 of a lab on the default subnet)"
note "policy formats: docs/control-plane-config.md; telemetry: docs/ztunnel-telemetry.md; the agent: docs/cni.md"
[[ $ok == 1 ]] && exit 0 || exit 1
