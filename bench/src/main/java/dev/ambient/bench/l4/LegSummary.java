package dev.ambient.bench.l4;

/**
 * The reported figures of one leg (medians over the repetitions). Latency is "added": the leg's
 * percentile minus the direct leg's, in milliseconds. CPU and RSS are of the leg's two proxy
 * processes (NaN for the direct leg, which has none): {@code cpuPer1000} the CPU seconds both used
 * per 1,000 requests during the fixed-rate runs, {@code rssIdleMib} / {@code rssConnsMib} the larger
 * of the two processes' RSS when idle / while holding the open connections.
 */
record LegSummary(double gbps, double addedP50, double addedP90, double addedP99, double cpuPer1000,
    double rssIdleMib, double rssConnsMib) {}
