package dev.ambient.xds.config;

import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.security.Scope;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.workload.NetworkAddress;
import dev.ambient.xds.api.workload.Service;
import dev.ambient.xds.api.workload.Workload;
import dev.ambient.xds.config.IstioSchema.AuthorizationPolicy;
import dev.ambient.xds.config.IstioSchema.IstioObject;
import dev.ambient.xds.config.IstioSchema.PeerAuthentication;
import dev.ambient.xds.config.IstioSchema.Selector;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.jspecify.annotations.Nullable;

/**
 * Merges the documents of all files into one snapshot (duplicate checks, Istio translation, selector binding,
 * aliases), <em>incrementally</em>: it keeps what each file contributed and, when {@link #update} is given the
 * files again, re-derives only what depends on the files whose document list changed (a file is unchanged when
 * its list is the same instance as last time, which {@link ConfigDirectory} guarantees for a file whose text did
 * not change).
 *
 * <h2>What one changed file costs</h2>
 * Its own resources are re-claimed; the Istio objects it holds are translated again; a selector
 * {@code AuthorizationPolicy} that appeared, went or changed re-binds the workloads of its namespace (all
 * workloads for the root namespace); a changed workload re-binds itself; a change to the set of
 * PeerAuthentications re-binds every workload. Only addresses whose source or bound policy list changed are
 * rebuilt; every other address, alias list and policy keeps its instance, and the snapshot's maps are
 * {@link PersistentMap}s that share what did not change. {@link ConfigLoadResult#changes()} names what changed.
 *
 * <h2>Semantics</h2>
 * Exactly those of assembling all files from scratch in path order, then document order: the first definition
 * of a name wins and each later one is an error naming both; a local policy wins over a translated policy of the
 * same name; labels come from the document that defined the winning workload. Errors and warnings come out in
 * the order a from-scratch assembly reports them.
 *
 * <p>Not thread-safe: owned by one {@link ConfigDirectory}, whose loads are synchronized.
 */
final class SnapshotAssembler {
  /** Where a resource was defined, for duplicate and warning messages; orders as files are processed. */
  record Origin(Path file, int line) implements Comparable<Origin> {
    @Override
    public int compareTo(Origin o) {
      int c = file.compareTo(o.file);
      return c != 0 ? c : Integer.compare(line, o.line);
    }

    @Override
    public String toString() {
      return file + ":" + line;
    }
  }

  /** One definition of a name; {@code seq} is its position among the document's definitions of that kind. */
  private record Claim<T>(Origin origin, int seq, T value) {}

  private static final Comparator<Claim<?>> CLAIM_ORDER =
      Comparator.<Claim<?>, Origin>comparing(Claim::origin).thenComparingInt(Claim::seq);

  /** A local address definition with the labels its document gives it. */
  private record LocalAddress(Address address, Map<String, String> labels) {}

  /** An Istio object definition, translated once when its file is read (translation needs no workloads). */
  private record IstioDefinition(IstioObject object, @Nullable Authorization translated, List<String> warnings) {}

  /**
   * A policy translated from an Istio object. {@code group} is its place in the translator's output (0: an
   * AuthorizationPolicy, 1: the static strict policy, 2: a converted PeerAuthentication): within a name the
   * highest group wins, as the translator's map kept the last one put.
   */
  private record Translated(int group, Origin origin, Authorization policy) {}

  private static final Comparator<Translated> TRANSLATED_ORDER =
      Comparator.comparingInt(Translated::group).thenComparing(Translated::origin);

  /** What the last assembly built for an address. */
  private record Built(LocalAddress source, List<String> bound, Address out, List<String> aliases) {}

  private final String rootNamespace;
  private Map<Path, List<ConfigDocument>> files = Map.of();

  // claims by name, each list sorted by CLAIM_ORDER (the first is the winner)
  private final Map<String, List<Claim<LocalAddress>>> addressClaims = new HashMap<>();
  private final Map<String, List<Claim<Authorization>>> policyClaims = new HashMap<>();
  private final Map<String, List<Claim<IstioDefinition>>> objectClaims = new HashMap<>();
  private final Map<String, List<Translated>> translatedClaims = new HashMap<>();
  /** Names with more than one claim of a kind (errors), and policies with both a local and a translated claim. */
  private final Set<String> contestedAddresses = new HashSet<>();
  private final Set<String> contestedPolicies = new HashSet<>();
  private final Set<String> contestedObjects = new HashSet<>();

  // the winners and what depends on them
  private final Map<String, Claim<LocalAddress>> addressWinners = new HashMap<>();
  private final Map<String, Claim<IstioDefinition>> objectWinners = new HashMap<>();
  private final Map<String, Set<String>> workloadsByNamespace = new HashMap<>();
  /** Selector AuthorizationPolicies by namespace, then policy name. */
  private final Map<String, Map<String, Selector>> selectors = new HashMap<>();
  private final TreeMap<Origin, PeerAuthentication> peerAuthentications = new TreeMap<>();
  private List<PeerAuthentication> peerAuthenticationList = List.of();
  private final Set<String> peerAuthenticationPolicies = new HashSet<>();
  private final TreeMap<Origin, Claim<IstioDefinition>> warned = new TreeMap<>();
  private final Map<String, List<String>> bound = new HashMap<>();
  private final Map<String, Built> built = new HashMap<>();

  // the output
  private PersistentMap<String, Address> addresses = PersistentMap.of();
  private PersistentMap<String, List<String>> aliases = PersistentMap.of();
  private PersistentMap<String, Authorization> policies = PersistentMap.of();

  // dirty state of one update
  private final Set<String> touchedAddresses = new LinkedHashSet<>();
  private final Set<String> touchedPolicies = new LinkedHashSet<>();
  private final Set<String> touchedObjects = new LinkedHashSet<>();
  private final Set<String> rebindNamespaces = new HashSet<>();
  private boolean rebindAll;
  private boolean peerAuthenticationsChanged;

  SnapshotAssembler(String rootNamespace) {
    this.rootNamespace = rootNamespace;
  }

  /** Assembles {@code files} (in path order) from scratch. */
  static ConfigLoadResult assemble(Map<Path, List<ConfigDocument>> files, String rootNamespace,
      List<ConfigError> errors) {
    return new SnapshotAssembler(rootNamespace).update(files, errors);
  }

  /**
   * The snapshot of {@code files} (every file that contributes, in path order, with its documents), given the
   * previous call's. {@code errors} (the caller's, e.g. parse errors) come first in the result.
   */
  ConfigLoadResult update(Map<Path, List<ConfigDocument>> next, List<ConfigError> errors) {
    files.forEach((file, docs) -> {
      if (next.get(file) != docs) {
        docs.forEach(d -> remove(file, d));
      }
    });
    next.forEach((file, docs) -> {
      if (files.get(file) != docs) {
        docs.forEach(d -> add(file, d));
      }
    });
    files = new HashMap<>(next);

    settleObjects();
    if (peerAuthenticationsChanged) {
      retranslatePeerAuthentications();
    }
    settleAddresses();
    Set<String> changedAddresses = rebind();
    Set<String> changedPolicies = settlePolicies();
    touchedAddresses.clear();
    touchedPolicies.clear();
    touchedObjects.clear();
    rebindNamespaces.clear();
    rebindAll = false;
    peerAuthenticationsChanged = false;

    List<ConfigError> all = new ArrayList<>(errors);
    duplicates(all);
    List<ConfigError> warnings = new ArrayList<>();
    warned.values().forEach(c -> c.value().warnings().forEach(m -> warnings.add(new ConfigError(
        c.origin().file(), c.origin().line(), 0, c.value().object().key() + ": " + m))));
    return new ConfigLoadResult(new ConfigSnapshot(addresses, aliases, policies), all, warnings,
        new ConfigChanges(changedAddresses, changedPolicies));
  }

  // ---- claims ----

  private void add(Path file, ConfigDocument doc) {
    Origin origin = new Origin(file, doc.line());
    switch (doc) {
      case ConfigDocument.Local local -> {
        int seq = 0;
        for (var e : local.config().addresses().entrySet()) {
          Map<String, String> labels = local.config().workloadLabels().getOrDefault(e.getKey(), Map.of());
          insert(addressClaims, e.getKey(), new Claim<>(origin, seq++, new LocalAddress(e.getValue(), labels)),
              contestedAddresses);
          touchedAddresses.add(e.getKey());
        }
        seq = 0;
        for (var e : local.config().policies().entrySet()) {
          insert(policyClaims, e.getKey(), new Claim<>(origin, seq++, e.getValue()), contestedPolicies);
          touchedPolicies.add(e.getKey());
        }
      }
      case ConfigDocument.Istio istio -> {
        IstioObject o = istio.object();
        insert(objectClaims, o.key(), new Claim<>(origin, 0, translate(o)), contestedObjects);
        touchedObjects.add(o.key());
      }
    }
  }

  private void remove(Path file, ConfigDocument doc) {
    switch (doc) {
      case ConfigDocument.Local local -> {
        for (String name : local.config().addresses().keySet()) {
          delete(addressClaims, name, file, doc.line(), contestedAddresses);
          touchedAddresses.add(name);
        }
        for (String name : local.config().policies().keySet()) {
          delete(policyClaims, name, file, doc.line(), contestedPolicies);
          touchedPolicies.add(name);
        }
      }
      case ConfigDocument.Istio istio -> {
        delete(objectClaims, istio.object().key(), file, doc.line(), contestedObjects);
        touchedObjects.add(istio.object().key());
      }
    }
  }

  private static <T> void insert(Map<String, List<Claim<T>>> claims, String name, Claim<T> claim,
      Set<String> contested) {
    List<Claim<T>> list = claims.computeIfAbsent(name, k -> new ArrayList<>(1));
    int i = 0;
    while (i < list.size() && CLAIM_ORDER.compare(list.get(i), claim) < 0) {
      i++;
    }
    list.add(i, claim);
    if (list.size() > 1) {
      contested.add(name);
    }
  }

  private static <T> void delete(Map<String, List<Claim<T>>> claims, String name, Path file, int line,
      Set<String> contested) {
    List<Claim<T>> list = claims.get(name);
    if (list == null) {
      return;
    }
    list.removeIf(c -> c.origin().line() == line && c.origin().file().equals(file));
    if (list.isEmpty()) {
      claims.remove(name);
    }
    if (list.size() <= 1) {
      contested.remove(name);
    }
  }

  private IstioDefinition translate(IstioObject o) {
    if (o instanceof AuthorizationPolicy ap) {
      List<String> warnings = new ArrayList<>();
      Authorization a = AuthorizationPolicyTranslator.translate(ap, rootNamespace, warnings::add);
      return new IstioDefinition(o, a, List.copyOf(warnings));
    }
    return new IstioDefinition(o, null, List.of());
  }

  private static <T> @Nullable Claim<T> first(@Nullable List<Claim<T>> list) {
    return list == null || list.isEmpty() ? null : list.getFirst();
  }

  // ---- Istio objects: translated policies, selectors, PeerAuthentications ----

  private void settleObjects() {
    for (String key : touchedObjects) {
      Claim<IstioDefinition> now = first(objectClaims.get(key));
      Claim<IstioDefinition> was = objectWinners.get(key);
      if (now == was) {
        continue;
      }
      if (was != null) {
        objectWinners.remove(key);
        contribute(was, false);
      }
      if (now != null) {
        objectWinners.put(key, now);
        contribute(now, true);
      }
    }
  }

  /** Adds or withdraws what a winning Istio object contributes. */
  private void contribute(Claim<IstioDefinition> c, boolean add) {
    IstioDefinition d = c.value();
    if (!d.warnings().isEmpty()) {
      if (add) {
        warned.put(c.origin(), c);
      } else {
        warned.remove(c.origin());
      }
    }
    switch (d.object()) {
      case AuthorizationPolicy ap -> {
        Authorization a = d.translated();
        if (a == null) {
          return;
        }
        String name = a.getNamespace() + "/" + a.getName();
        Translated t = new Translated(0, c.origin(), a);
        if (add) {
          addTranslated(name, t);
        } else {
          removeTranslated(name, c.origin(), 0);
        }
        if (a.getScope() == Scope.WORKLOAD_SELECTOR && ap.spec().selector() != null) {
          if (add) {
            selectors.computeIfAbsent(a.getNamespace(), k -> new LinkedHashMap<>()).put(name, ap.spec().selector());
          } else {
            Map<String, Selector> s = selectors.get(a.getNamespace());
            if (s != null) {
              s.remove(name);
              if (s.isEmpty()) {
                selectors.remove(a.getNamespace());
              }
            }
          }
          if (a.getNamespace().equals(rootNamespace)) {
            rebindAll = true;
          } else {
            rebindNamespaces.add(a.getNamespace());
          }
        }
      }
      case PeerAuthentication pa -> {
        if (add) {
          peerAuthentications.put(c.origin(), pa);
        } else {
          peerAuthentications.remove(c.origin());
        }
        peerAuthenticationsChanged = true;
      }
    }
  }

  private void addTranslated(String name, Translated t) {
    List<Translated> list = translatedClaims.computeIfAbsent(name, k -> new ArrayList<>(1));
    list.add(t);
    list.sort(TRANSLATED_ORDER);
    touchedPolicies.add(name);
  }

  private void removeTranslated(String name, Origin origin, int group) {
    List<Translated> list = translatedClaims.get(name);
    if (list != null) {
      list.removeIf(t -> t.group() == group && t.origin().equals(origin));
      if (list.isEmpty()) {
        translatedClaims.remove(name);
      }
    }
    touchedPolicies.add(name);
  }

  /** The static strict and converted policies depend on every PeerAuthentication: redone when any changed. */
  private void retranslatePeerAuthentications() {
    for (String name : peerAuthenticationPolicies) {
      List<Translated> list = translatedClaims.get(name);
      if (list != null) {
        list.removeIf(t -> t.group() > 0);
        if (list.isEmpty()) {
          translatedClaims.remove(name);
        }
      }
      touchedPolicies.add(name);
    }
    peerAuthenticationPolicies.clear();
    peerAuthenticationList = List.copyOf(peerAuthentications.values());
    rebindAll = true;
    if (peerAuthenticationList.isEmpty()) {
      return;
    }
    Authorization strict = PeerAuthenticationTranslator.staticStrict(rootNamespace);
    addPeerAuthenticationPolicy(new Translated(1, peerAuthentications.firstKey(), strict));
    peerAuthentications.forEach((origin, pa) -> {
      Authorization converted = PeerAuthenticationTranslator.convert(pa, peerAuthenticationList, rootNamespace);
      if (converted != null) {
        addPeerAuthenticationPolicy(new Translated(2, origin, converted));
      }
    });
  }

  private void addPeerAuthenticationPolicy(Translated t) {
    String name = t.policy().getNamespace() + "/" + t.policy().getName();
    addTranslated(name, t);
    peerAuthenticationPolicies.add(name);
  }

  // ---- addresses and their policy binding ----

  private void settleAddresses() {
    for (String name : touchedAddresses) {
      Claim<LocalAddress> now = first(addressClaims.get(name));
      Claim<LocalAddress> was = addressWinners.get(name);
      if (now == was) {
        continue;
      }
      if (was != null) {
        addressWinners.remove(name);
        if (was.value().address().hasWorkload()) {
          String ns = was.value().address().getWorkload().getNamespace();
          Set<String> inNs = workloadsByNamespace.get(ns);
          inNs.remove(name);
          if (inNs.isEmpty()) {
            workloadsByNamespace.remove(ns);
          }
        }
      }
      if (now != null) {
        addressWinners.put(name, now);
        if (now.value().address().hasWorkload()) {
          workloadsByNamespace.computeIfAbsent(now.value().address().getWorkload().getNamespace(),
              k -> new HashSet<>()).add(name);
        }
      }
    }
  }

  /** Re-binds what needs it and rebuilds the addresses whose source or binding changed; returns their names. */
  private Set<String> rebind() {
    Set<String> dirty = new LinkedHashSet<>(touchedAddresses);
    if (rebindAll) {
      workloadsByNamespace.values().forEach(dirty::addAll);
    } else {
      for (String ns : rebindNamespaces) {
        dirty.addAll(workloadsByNamespace.getOrDefault(ns, Set.of()));
      }
    }
    PersistentMap.Editor<String, Address> outAddresses = addresses.edit();
    PersistentMap.Editor<String, List<String>> outAliases = aliases.edit();
    Set<String> changed = new LinkedHashSet<>();
    for (String name : dirty) {
      Claim<LocalAddress> winner = addressWinners.get(name);
      if (winner == null) {
        bound.remove(name);
        built.remove(name);
        if (outAddresses.remove(name) != null) {
          changed.add(name);
        }
        outAliases.remove(name);
        continue;
      }
      LocalAddress source = winner.value();
      List<String> names = source.address().hasWorkload() ? bindingOf(source) : List.of();
      if (names.isEmpty()) {
        bound.remove(name);
      } else {
        bound.put(name, names);
      }
      Built b = built.get(name);
      if (b == null || b.source().address() != source.address() || !b.bound().equals(names)) {
        Address address = source.address();
        if (address.hasWorkload() && !names.isEmpty()) {
          Workload w = address.getWorkload();
          TreeSet<String> all = new TreeSet<>(w.getAuthorizationPoliciesList());
          all.addAll(names);
          address = Address.newBuilder()
              .setWorkload(w.toBuilder().clearAuthorizationPolicies().addAllAuthorizationPolicies(all)).build();
        }
        b = new Built(source, names, address, aliases(address));
        built.put(name, b);
      }
      if (outAddresses.put(name, b.out()) != b.out()) {
        changed.add(name);
      }
      outAliases.put(name, b.aliases());
    }
    addresses = outAddresses.build();
    aliases = outAliases.build();
    return changed;
  }

  /** The selector-bound policy names of a workload, sorted. */
  private List<String> bindingOf(LocalAddress source) {
    String ns = source.address().getWorkload().getNamespace();
    Map<String, String> labels = source.labels();
    TreeSet<String> out = null;
    for (String scope : ns.equals(rootNamespace) ? List.of(ns) : List.of(ns, rootNamespace)) {
      for (var e : selectors.getOrDefault(scope, Map.of()).entrySet()) {
        if (e.getValue().matches(labels)) {
          (out == null ? out = new TreeSet<>() : out).add(e.getKey());
        }
      }
    }
    if (!peerAuthenticationList.isEmpty()) {
      List<String> pa = PeerAuthenticationTranslator.policiesFor(ns, labels, peerAuthenticationList, rootNamespace);
      if (!pa.isEmpty()) {
        (out == null ? out = new TreeSet<>() : out).addAll(pa);
      }
    }
    return out == null ? List.of() : List.copyOf(out);
  }

  // ---- policies ----

  private Set<String> settlePolicies() {
    PersistentMap.Editor<String, Authorization> out = policies.edit();
    Set<String> changed = new LinkedHashSet<>();
    for (String name : touchedPolicies) {
      Claim<Authorization> local = first(policyClaims.get(name));
      List<Translated> translated = translatedClaims.get(name);
      if (local != null && translated != null) {
        contestedPolicies.add(name);
      } else if (policyClaims.getOrDefault(name, List.of()).size() <= 1) {
        contestedPolicies.remove(name);
      }
      Authorization winner = local != null ? local.value()
          : translated != null ? translated.getLast().policy() : null;
      if (winner == null) {
        if (out.remove(name) != null) {
          changed.add(name);
        }
      } else if (out.put(name, winner) != winner) {
        changed.add(name);
      }
    }
    policies = out.build();
    return changed;
  }

  // ---- errors ----

  /** A duplicate error with its place in a from-scratch assembly's report order. */
  private record Duplicate(int phase, int group, Origin origin, int kind, int seq, ConfigError error) {}

  private static final Comparator<Duplicate> REPORT_ORDER = Comparator.comparingInt(Duplicate::phase)
      .thenComparingInt(Duplicate::group).thenComparing(Duplicate::origin)
      .thenComparingInt(Duplicate::kind).thenComparingInt(Duplicate::seq);

  private void duplicates(List<ConfigError> errors) {
    if (contestedAddresses.isEmpty() && contestedPolicies.isEmpty() && contestedObjects.isEmpty()) {
      return;
    }
    List<Duplicate> out = new ArrayList<>();
    for (String name : contestedAddresses) {
      List<Claim<LocalAddress>> list = addressClaims.get(name);
      for (Claim<LocalAddress> c : list.subList(1, list.size())) {
        out.add(duplicate(0, 0, c, 0, c.value().address().hasWorkload() ? "workload" : "service", name,
            list.getFirst().origin()));
      }
    }
    for (String name : contestedObjects) {
      List<Claim<IstioDefinition>> list = objectClaims.get(name);
      for (Claim<IstioDefinition> c : list.subList(1, list.size())) {
        out.add(duplicate(0, 0, c, 0, "object", name, list.getFirst().origin()));
      }
    }
    for (String name : contestedPolicies) {
      List<Claim<Authorization>> list = policyClaims.getOrDefault(name, List.of());
      if (list.isEmpty()) {
        continue;
      }
      for (Claim<Authorization> c : list.subList(1, list.size())) {
        out.add(duplicate(0, 0, c, 1, "policy", name, list.getFirst().origin()));
      }
      List<Translated> translated = translatedClaims.get(name);
      if (translated != null) {
        Translated t = translated.getLast();
        out.add(duplicate(1, t.group(), new Claim<>(t.origin(), 0, t), 0, "policy", name, list.getFirst().origin()));
      }
    }
    out.sort(REPORT_ORDER);
    out.forEach(d -> errors.add(d.error()));
  }

  private static Duplicate duplicate(int phase, int group, Claim<?> c, int kind, String what, String name,
      Origin first) {
    return new Duplicate(phase, group, c.origin(), kind, c.seq(), new ConfigError(c.origin().file(),
        c.origin().line(), 0, "duplicate " + what + " '" + name + "': already defined at " + first
            + "; this one is ignored"));
  }

  static List<String> aliases(Address address) {
    List<String> out = new ArrayList<>();
    if (address.hasWorkload()) {
      Workload w = address.getWorkload();
      w.getAddressesList().forEach(ip -> out.add(w.getNetwork() + "/" + IpLiterals.format(ip)));
    } else if (address.hasService()) {
      Service s = address.getService();
      for (NetworkAddress a : s.getAddressesList()) {
        String alias = a.getNetwork() + "/" + IpLiterals.format(a.getAddress());
        if (a.hasLength() && a.getLength() != a.getAddress().size() * 8) {
          alias += "/" + a.getLength();
        }
        out.add(alias);
      }
    }
    return List.copyOf(out);
  }
}
