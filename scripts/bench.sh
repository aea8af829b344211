#!/usr/bin/env bash
# ./ambient bench SUITE [args]: benchmarks (DESIGN.md §9). The launcher sets JAVA_HOME.
#   xds    the control plane at scale: full sync time, bytes, client heap per workload, change propagation
# (The hbone and jmh suites live on the `bench` branch; merging adds them to the case below.)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RESULTS="$ROOT/bench/results"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

usage() {
  cat <<'USAGE'
usage: ./ambient bench <suite> [options]

suites:
  xds     the control plane with a generated config (default 10,000 workloads, 1,000 services,
          1,000 policies in 50 namespaces): the control plane (ControlPlaneMain) in its own JVM, the
          xDS client in the measuring JVM, over the real TLS port on loopback. Measures the time to
          the first full sync, the bytes received, the client's heap per workload (after GC) and the
          time from a file change to the change seen by a client watcher (median, p99); prints them
          against the goals (sync < 2 s, < 2 KiB heap per workload, p99 < 100 ms); JSON goes to
          bench/results/xds-<UTC>.json.
          options: --workloads N --services N --policies N --namespaces N (default 10000 1000 1000 50)
                   --changes N (default 100)  --warm-syncs N (default 5)  --gap-ms MS (pause before
                   each change, default 200)  --cp-jvm-opts "..." (default "-Xms1g -Xmx2g")
                   --profile (JFR of both JVMs into bench/results/*.jfr)  --keep (keep config and logs)
                   --idle-below PCT --idle-wait S (wait for an idle machine first; default 15, 120)
USAGE
}

suite="${1:-}"; [[ $# -gt 0 ]] && shift
case "$suite" in
  ""|-h|--help|help) usage; exit 0 ;;
  xds) ;;
  *) usage >&2; echo "ambient bench: unknown suite '$suite'" >&2; exit 2 ;;
esac
for a in "$@"; do [[ "$a" == "-h" || "$a" == "--help" ]] && { usage; exit 0; }; done

"$ROOT/ambient" build

JAR=$(ls "$ROOT"/bench/target/ambient-bench-*.jar 2>/dev/null | grep -v -E 'sources|tests' | head -1)
[[ -n "$JAR" && -f "$ROOT/bench/target/runtime-classpath.txt" ]] || { echo "ambient bench: bench jar missing; run ./ambient build" >&2; exit 1; }
CP="$JAR:$(cat "$ROOT/bench/target/runtime-classpath.txt")"
JOPTS=(--enable-native-access=ALL-UNNAMED --sun-misc-unsafe-memory-access=allow)
mkdir -p "$RESULTS"

case "$suite" in
  xds)
    cd "$ROOT"
    # The client's JVM: a fixed heap so that "heap after GC" is not blurred by resizing.
    exec "$JAVA" "${JOPTS[@]}" -Xms1g -Xmx1g -Dbench.command="./ambient bench xds $*" \
      -cp "$CP" dev.ambient.bench.XdsBench --out "$RESULTS" "$@"
    ;;
esac
