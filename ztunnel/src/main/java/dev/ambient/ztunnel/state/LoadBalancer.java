package dev.ambient.ztunnel.state;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.client.LoadBalancing;
import dev.ambient.xds.client.Locality;
import dev.ambient.xds.client.Workload;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.random.RandomGenerator;

/** Endpoint selection for a service (spec §5.4). Pure apart from the injected random source. */
public final class LoadBalancer {
  private static final Locality NO_LOCALITY = new Locality("", "", "");

  /** How candidates are filtered: ordinary traffic, or resolving a waypoint. */
  public enum Resolution {
    /** The service must define the port; a named port (target 0) needs an endpoint mapping. */
    STANDARD,
    /** An endpoint is kept when the service defines the port or its workload has an app tunnel. */
    WAYPOINT
  }

  /** The chosen endpoint and its workload. */
  public record Pick(Workload workload, Endpoint endpoint) {
    public Pick {
      requireNonNull(workload, "workload");
      requireNonNull(endpoint, "endpoint");
    }
  }

  private LoadBalancer() {}

  /**
   * Picks an endpoint of {@code service} for {@code source} connecting to {@code port}: filters the
   * candidates, ranks them by routing preference in STRICT/FAILOVER mode (STANDARD and PASSTHROUGH
   * ignore preferences), keeps the best rank, then chooses by capacity weight (0 = never).
   */
  public static Optional<Pick> pick(
      ProxyState state, ServiceEntry service, Workload source, int port, Resolution resolution,
      RandomGenerator random) {
    OptionalInt svcTarget = service.servicePortTarget(port);
    if (resolution == Resolution.STANDARD && svcTarget.isEmpty()) {
      return Optional.empty();
    }
    LoadBalancing.Mode mode = service.mode();
    List<LoadBalancing.Scope> prefs =
        service.service().loadBalancing().map(LoadBalancing::routingPreference).orElse(List.of());
    boolean ranked = mode == LoadBalancing.Mode.STRICT || mode == LoadBalancing.Mode.FAILOVER;

    List<Pick> best = new ArrayList<>();
    int bestRank = Integer.MIN_VALUE;
    // Iterate in uid order so a seeded random gives a reproducible choice.
    List<Endpoint> eps = service.endpoints().values().stream()
        .sorted(java.util.Comparator.comparing(Endpoint::workloadUid)).toList();
    for (Endpoint ep : eps) {
      Optional<Workload> maybe = state.workload(ep.workloadUid());
      if (maybe.isEmpty()) {
        continue;
      }
      Workload w = maybe.get();
      if (w.addresses().isEmpty() && w.hostname().isEmpty()
          && (w.network().equals(source.network()) || w.networkGateway().isEmpty())) {
        continue;
      }
      if (resolution == Resolution.STANDARD) {
        if (svcTarget.getAsInt() == 0 && !ep.targetPorts().containsKey(port)) {
          continue;
        }
      } else if (svcTarget.isEmpty() && w.applicationTunnel().isEmpty()) {
        continue;
      }
      int rank = 0;
      if (ranked) {
        Rank r = rank(prefs, source, w);
        if (mode == LoadBalancing.Mode.STRICT && !r.allMatched()) {
          continue;
        }
        rank = r.rank();
      }
      if (rank > bestRank) {
        best.clear();
        bestRank = rank;
      }
      if (rank == bestRank) {
        best.add(new Pick(w, ep));
      }
    }
    long total = 0;
    for (Pick p : best) {
      total += p.workload().capacity();
    }
    if (total == 0) {
      return Optional.empty();
    }
    long r = random.nextLong(total);
    for (Pick p : best) {
      r -= p.workload().capacity();
      if (r < 0) {
        return Optional.of(p);
      }
    }
    throw new AssertionError("weighted choice fell through");
  }

  record Rank(int rank, boolean allMatched) {}

  /**
   * Number of leading preference scopes matched, stopping at the first mismatch; NETWORK as the first
   * scope is preferred-not-required: a mismatch is skipped, a match adds {@code len-1} bonus.
   */
  static Rank rank(List<LoadBalancing.Scope> prefs, Workload src, Workload dst) {
    int rank = 0;
    boolean all = true;
    for (int i = 0; i < prefs.size(); i++) {
      LoadBalancing.Scope scope = prefs.get(i);
      boolean match = matches(scope, src, dst);
      if (i == 0 && scope == LoadBalancing.Scope.NETWORK) {
        if (match) {
          rank += 1 + (prefs.size() - 1);
        } else {
          all = false;
        }
        continue;
      }
      if (!match) {
        all = false;
        break;
      }
      rank++;
    }
    return new Rank(rank, all);
  }

  private static boolean matches(LoadBalancing.Scope scope, Workload src, Workload dst) {
    Locality a = src.locality().orElse(NO_LOCALITY);
    Locality b = dst.locality().orElse(NO_LOCALITY);
    return switch (scope) {
      case REGION -> a.region().equals(b.region());
      case ZONE -> a.zone().equals(b.zone());
      case SUBZONE -> a.subzone().equals(b.subzone());
      case NODE -> src.node().equals(dst.node());
      case CLUSTER -> src.clusterId().equals(dst.clusterId());
      case NETWORK -> src.network().equals(dst.network());
    };
  }
}
