#!/usr/bin/env bash
# ./ambient bench SUITE [args]: side-by-side benchmarks (DESIGN.md §9). The launcher sets JAVA_HOME.
#   hbone  single-stream loopback throughput: raw TCP vs an HAProxy mTLS pair vs an HBONE pair
#   jmh    JMH microbenchmarks of the hot paths (args go to org.openjdk.jmh.Main)
#   xds    the control plane at scale: full sync time, bytes, client heap per workload, change propagation
#   l4     L4 through two ztunnels in node netns vs. direct vs. an HAProxy mTLS pair (root)
#   pods   pod start cost (CNI ADD, ZDS add to ack) and ztunnel memory per enrolled pod in a 1-node lab (root)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$ROOT/bench/results"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

usage() {
  cat <<'USAGE'
usage: ./ambient bench <suite> [options]

suites:
  hbone   single-stream throughput over loopback, each side its own process:
            (a) raw TCP  (b) HAProxy mTLS TCP tunnel pair (TLS 1.3)  (c) HBONE client/server JVMs
          prints the medians and (c)/(a), (c)/(b); JSON goes to bench/results/hbone-<UTC>.json.
          Installs haproxy with apt-get when it is missing.
          options: --bytes N[K|M|G] (default 2G)  --reps R (default 3, median reported)
                   --warmup-bytes N (default: --bytes)  --quick (128M x 1, smoke run)  --loops L (I/O threads per
                   tunnel process, default 1)  --jvm-opts "..."  --profile (JFR in the HBONE JVMs)
                   --keep (keep certs/configs/logs)  --out DIR
                   --haproxy-ciphersuites LIST (default TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256)
                   --hbone-max-frame-size N (SETTINGS_MAX_FRAME_SIZE of the HBONE server; default 1M)
                   --idle-below PCT --idle-wait S (wait for an idle machine before each run)
  jmh     JMH: HboneStreamOpenBenchmark, RelayThroughputBenchmark, TlsRecordBenchmark.
          Arguments are passed to JMH (e.g. a benchmark regex, -prof gc); defaults:
          -f 1 -wi 2 -i 3 -w 2s -r 3s; JSON goes to bench/results/jmh-<UTC>.json.
  xds     the control plane with a generated config (default 10,000 workloads, 1,000 services,
          1,000 policies in 50 namespaces): the control plane (ControlPlaneMain) in its own JVM, the
          xDS client in the measuring JVM, over the real TLS port on loopback. Measures the time to
          the first full sync, the bytes received, the client's heap per workload (after GC) and the
          time from a file change to the change seen by a client watcher (median, p99, after disclosed
          warm-up changes that are reported separately), split into stages (watcher, debounce, load,
          store, publish, wire, client apply) with both JVMs' GC and safepoint pauses; prints them
          against the goals (sync < 2 s, < 2 KiB heap per workload, p99 < 100 ms); JSON goes to
          bench/results/xds-<UTC>.json.
          options: --workloads N --services N --policies N --namespaces N (default 10000 1000 1000 50)
                   --changes N (default 100)  --warm-up-changes N (default 10)  --warm-syncs N (default 5)
                   --gap-ms MS (pause before each change, default 200)  --cp-jvm-opts "..." (default:
                   the launcher's control-plane JVM flags, AMBIENT_CONTROL_PLANE_JVM: "-XX:+UseZGC -Xmx2g")
                   --profile (JFR of both JVMs into bench/results/*.jfr)  --keep (keep config and logs)
                   --idle-below PCT --idle-wait S (wait for an idle machine first; default 15, 120)
  l4      (root) L4 between two node network namespaces (client node 198.18.0.10, server node
          198.18.0.11 on a bridge 198.18.0.1/24), all legs in one run: (a) direct, (b) an HAProxy
          mTLS pair (one per node), (c) two ztunnels (./ambient ztunnel, dedicated mode, iptables
          capture to 15001 in the client node, control plane on 198.18.0.1:15012; skipped when
          ztunnel is not available). Measures single-connection iperf3 throughput, added p50/p90/p99
          latency of 1 KiB HTTP responses at 1,000 req/s over 4 connections (hey), proxy CPU s per
          1,000 requests and RSS idle and with 10,000 open connections; prints the goals; JSON goes
          to bench/results/l4-<UTC>.json. Installs iperf3, hey and haproxy with apt-get when missing.
          Everything is named with one prefix and removed at the end, also on failure and Ctrl-C.
          options: --reps R (default 3)  --duration S (per run, default 10)  --quick (1 x 3 s,
                   hold 2,000)  --rate N --connections C (default 1000, 4)  --hold N (default 10000)
                   --legs abc  --haproxy-threads T (default 1)  --ztunnel-jvm-opts "..."
                   --ready-timeout S (default 90)  --keep (keep configs and logs)  --out DIR
                   --inpod: leg (d) through the real in-pod mesh: a 2-node ./ambient lab (shared-mode
                   ztunnels, pods captured by the CNI plugin), client pod on node-0, server pod (iperf3 -s, HTTP)
                   on node-1, same iperf3/hey to the server pod IP; CPU and RSS of the two node ztunnels; lab down
                   at the end, also on failure  --lab-subnet S (default 130)  --lab-state DIR
                   (default /run/ambient-lab-bench-l4)  (--legs abd works too)
  pods    (root) a 1-node ./ambient lab (own state dir /run/ambient-lab-bench-pods, subnet 120) with the real
          plugin, node agent and shared-mode ztunnel; adds --pods ambient pods one after another (lab pod add),
          timing each CNI ADD as the runtime sees it (the plugin exec), reads the agent's "ZDS add to ack"
          time per pod (AddWorkload sent to ztunnel's ack, sent once the pod's listeners are bound), and
          ztunnel's VmRSS after the warm-up pod, with --pods and --total idle enrolled pods (KiB per pod). Median
          and p99 are printed against the goals (ADD p99 < 300 ms, < 200 KiB per pod); JSON goes to
          bench/results/pods-<UTC>.json. lab down at the end, also on failure and Ctrl-C. Exit 3 on a FAIL.
          options: --pods N (timed, default 50)  --total N (default 100)  --warmup N (pods added before the
                   timing and the idle RSS reading, not counted; default 1: the first ADD with a new plugin jar
                   builds its AppCDS archive)  --settle S (wait before each RSS reading, default 10)
                   --subnet S (default 120)  --state DIR
USAGE
}

suite="${1:-}"; [[ $# -gt 0 ]] && shift
case "$suite" in
  ""|-h|--help|help) usage; exit 0 ;;
  hbone|jmh|xds|l4|pods) ;;
  *) usage >&2; echo "ambient bench: unknown suite '$suite'" >&2; exit 2 ;;
esac
for a in "$@"; do [[ "$a" == "-h" || "$a" == "--help" ]] && { usage; exit 0; }; done

"$ROOT/ambient" build

# One benchmark at a time on this machine, from any checkout: two runs would share the cores and the
# l4 suite's fixed netns/bridge names, and both sets of numbers would be wrong.
LOCK="${AMBIENT_BENCH_LOCK:-/tmp/ambient-bench.lock}"
exec 9>"$LOCK"
if ! flock -n 9; then
  echo "ambient bench: another benchmark holds $LOCK; waiting for it (up to 15 min)" >&2
  flock -w 900 9 || { echo "ambient bench: $LOCK still held after 15 min (a leftover process?); giving up" >&2; exit 1; }
fi

# Waits (up to $IDLE_WAIT s, default 120) until the CPUs are less than $IDLE_BELOW % busy (default 15)
# over one second: other work on the machine would distort the numbers.
wait_idle() {
  local limit=$(( $(date +%s) + ${IDLE_WAIT:-120} )) busy
  while :; do
    busy=$(awk 'NR==1{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5+$6}' /proc/stat; sleep 1; awk 'NR==1{t=0; for(i=2;i<=NF;i++) t+=$i; print t, $5+$6}' /proc/stat)
    busy=$(echo "$busy" | awk 'NR==1{t=$1;i=$2} NR==2{dt=$1-t; di=$2-i; printf "%d", (dt>0 ? 100*(1-di/dt) : 0)}')
    (( busy < ${IDLE_BELOW:-15} )) && return 0
    (( $(date +%s) >= limit )) && { echo "ambient bench: machine still ${busy}% busy; running anyway" >&2; return 0; }
    echo "ambient bench: machine ${busy}% busy (other processes); waiting for < ${IDLE_BELOW:-15}%" >&2
    sleep 4
  done
}
JAR=$(ls "$ROOT"/bench/target/ambient-bench-*.jar 2>/dev/null | grep -v -E 'sources|tests' | head -1)
[[ -n "$JAR" && -f "$ROOT/bench/target/runtime-classpath.txt" ]] || { echo "ambient bench: bench jar missing; run ./ambient build" >&2; exit 1; }
CP="$JAR:$(cat "$ROOT/bench/target/runtime-classpath.txt")"
JOPTS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
mkdir -p "$RESULTS"
STAMP=$(date -u +%Y%m%dT%H%M%SZ)

case "$suite" in
  hbone)
    if ! command -v haproxy >/dev/null; then
      echo "ambient bench: installing haproxy (apt-get)" >&2
      [[ $(id -u) -eq 0 ]] && SUDO=() || SUDO=(sudo)
      "${SUDO[@]}" apt-get update -qq
      DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq haproxy >/dev/null
      # The package starts a system haproxy; the benchmark runs its own, so stop that one.
      "${SUDO[@]}" systemctl disable --now haproxy >/dev/null 2>&1 || "${SUDO[@]}" service haproxy stop >/dev/null 2>&1 || true
    fi
    cd "$ROOT"
    exec "$JAVA" "${JOPTS[@]}" -Xmx512m -Dbench.command="./ambient bench hbone $*" \
      -cp "$CP" dev.ambient.bench.HboneBench --out "$RESULTS" "$@"
    ;;
  jmh)
    wait_idle
    "${JAVA_HOME:?}/bin/jar" tf "$JAR" | grep -qx META-INF/BenchmarkList \
      || { echo "ambient bench: $JAR has no META-INF/BenchmarkList (JMH annotation processor did not run)" >&2; exit 1; }
    ARGS=("$@")
    has() { local x; for x in "${ARGS[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }
    DEFAULTS=()
    has -f || DEFAULTS+=(-f 1)
    has -wi || DEFAULTS+=(-wi 2)
    has -i || DEFAULTS+=(-i 3)
    has -w || DEFAULTS+=(-w 2s)
    has -r || DEFAULTS+=(-r 3s)
    has -rff || DEFAULTS+=(-rf json -rff "$RESULTS/jmh-$STAMP.json")
    # Forked JMH JVMs inherit these flags.
    has -jvmArgsAppend || DEFAULTS+=(-jvmArgsAppend "${JOPTS[*]} -Xms1g -Xmx1g -XX:+UseParallelGC")
    cd "$ROOT"
    "$JAVA" "${JOPTS[@]}" -cp "$CP" org.openjdk.jmh.Main "${DEFAULTS[@]}" "${ARGS[@]}"
    has -rff || echo "JMH results: $RESULTS/jmh-$STAMP.json"
    ;;
  l4)
    [[ $(id -u) -eq 0 ]] || { echo "ambient bench l4: needs root (network namespaces, veth, iptables)" >&2; exit 1; }
    missing=()
    command -v iperf3 >/dev/null || missing+=(iperf3)
    command -v hey >/dev/null || missing+=(hey)
    command -v haproxy >/dev/null || missing+=(haproxy)
    if [[ ${#missing[@]} -gt 0 ]]; then
      echo "ambient bench: installing ${missing[*]} (apt-get)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
      # The packages may start system services; the benchmark runs its own.
      for s in haproxy iperf3; do systemctl disable --now "$s" >/dev/null 2>&1 || service "$s" stop >/dev/null 2>&1 || true; done
    fi
    cd "$ROOT"
    # One prefix for everything the run creates; the trap removes leftovers even if the JVM is killed.
    PREFIX="l4b$(printf '%04x' $((RANDOM % 65536)))"
    cleanup() { "$JAVA" "${JOPTS[@]}" -cp "$CP" dev.ambient.bench.l4.L4Bench --cleanup "$PREFIX" || true; }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    "$JAVA" "${JOPTS[@]}" -Xmx512m -Dbench.command="./ambient bench l4 $*" \
      -cp "$CP" dev.ambient.bench.l4.L4Bench --out "$RESULTS" --prefix "$PREFIX" --ambient "$ROOT/ambient" "$@"
    ;;
  pods)
    [[ $(id -u) -eq 0 ]] || { echo "ambient bench pods: needs root (./ambient lab)" >&2; exit 1; }
    cd "$ROOT"
    PODS_STATE=/run/ambient-lab-bench-pods
    for ((i = 1; i <= $#; i++)); do [[ "${!i}" == --state ]] && { j=$((i + 1)); PODS_STATE="${!j}"; }; done
    # The JVM runs lab down itself (also from its shutdown hook); this is the backstop if it is killed.
    cleanup() { AMBIENT_LAB_DIR="$PODS_STATE" "$ROOT/ambient" lab down >/dev/null 2>&1 || true; }
    trap cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    "$JAVA" "${JOPTS[@]}" -Xmx256m -Dbench.command="./ambient bench pods $*" \
      -cp "$CP" dev.ambient.bench.pods.PodsBench --out "$RESULTS" --ambient "$ROOT/ambient" "$@"
    ;;
  xds)
    cd "$ROOT"
    # The client's JVM: a fixed heap so that "heap after GC" is not blurred by resizing.
    exec "$JAVA" "${JOPTS[@]}" -Xms1g -Xmx1g -Dbench.command="./ambient bench xds $*" \
      -cp "$CP" dev.ambient.bench.XdsBench --out "$RESULTS" "$@"
    ;;
esac
