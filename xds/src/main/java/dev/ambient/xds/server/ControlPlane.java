package dev.ambient.xds.server;

import static java.util.Objects.requireNonNull;

import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.ca.CallerAuthenticator;
import io.grpc.Server;
import io.grpc.ServerInterceptors;
import io.grpc.TlsServerCredentials;
import io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.BindException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.KeyManagerFactory;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The standalone control plane: loads a config directory into a {@link ResourceStore}, watches it,
 * and serves delta ADS and the CA service on one TLS port.
 *
 * <h2>Lifecycle</h2>
 * {@link #start()} loads the directory (problems are logged, the rest is served), obtains a serving
 * certificate naming the listen address and {@code istiod.istio-system.svc}, binds, and starts
 * watching. {@link #close()} stops watching, ends the streams (clients reconnect), then stops the
 * server, forcing it after a grace period.
 *
 * <h2>Threading</h2>
 * All loading happens on one "config" thread: the initial load in {@code start()} and every reload
 * after a change. Publishing to the store is the only hand-over to the ADS streams.
 */
public final class ControlPlane implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ControlPlane.class);
  /**
   * One DEBUG line per reload with its stage times: {@code reload event=<ns> start=<ns> loaded=<ns> stored=<ns>
   * published=<ns>}, each a {@link System#nanoTime()} (one clock for every JVM on a Linux machine, so a
   * benchmark in another JVM can line them up with its own), then the durations in ms. "published" is after
   * the streams were told, which encodes and hands each stream's delta to gRPC on this thread.
   */
  static final Logger timings = LoggerFactory.getLogger(ControlPlane.class.getName() + ".timings");
  /** Default listen address: loopback only, istiod's port. */
  public static final InetSocketAddress DEFAULT_LISTEN = new InetSocketAddress(InetAddress.getLoopbackAddress(), 15012);
  /** The name clients verify (istiod's service name, as ztunnel expects). */
  public static final String ISTIOD_NAME = "istiod.istio-system.svc";
  /** Quiet time after the last file event before reloading; a burst is pushed at most MAX after it began. */
  static final Duration DEBOUNCE_QUIET = Duration.ofMillis(10);
  static final Duration DEBOUNCE_MAX = Duration.ofMillis(30);
  static final Duration SHUTDOWN_GRACE = Duration.ofSeconds(5);
  /**
   * Warm-up rounds run on the config thread at start, after the first load and before the port is bound
   * (each parses the files again, keeps the new parse of a tenth of them, reloads the directory, whose content
   * is unchanged but takes the code paths of a real change for that tenth, see {@code ConfigDirectory#warmUp},
   * and diffs and encodes a one-resource push of each type, see {@link #warmUpPush}), so that the JIT
   * has compiled the parse and reload paths before the first real change (the first changes after a start
   * otherwise took 200-500 ms at 10,000 workloads instead of ~70 ms), without competing with the first
   * clients' syncs. They publish nothing. Costs start-up time (about a second at 10,000 workloads).
   */
  static final int WARM_UP_RELOADS = 8;

  private final Path configDir;
  private final ConfigSource config;
  private final ServingCa ca;
  private final InetSocketAddress listen;
  private final @Nullable Path tokens;
  private final @Nullable CallerAuthenticator xdsAuthenticator;
  private final ResourceStore store = new ResourceStore();
  private final DeltaAdsServer ads = DeltaAdsServer.of(store);
  private final ScheduledExecutorService configThread =
      Executors.newSingleThreadScheduledExecutor(Thread.ofPlatform().daemon().name("config").factory());
  private volatile List<ConfigProblem> problems = List.of();
  private Set<ConfigProblem> warnings = Set.of(); // config thread only
  private final StoredResources storedAddresses = new StoredResources(); // config thread only
  private final StoredResources storedPolicies = new StoredResources(); // config thread only
  private boolean compareAllNext = true; // config thread only
  private @Nullable DirectoryWatcher watcher;
  private @Nullable Server server;

  ControlPlane(Builder b) {
    this.configDir = requireNonNull(b.configDir, "configDir");
    this.config = requireNonNull(b.config, "config");
    this.ca = requireNonNull(b.ca, "ca");
    this.listen = b.listen;
    this.tokens = b.tokens;
    this.xdsAuthenticator = b.xdsAuthenticator;
    if (tokens != null && xdsAuthenticator != null) {
      throw new IllegalStateException("a tokens file and an xDS authenticator exclude each other");
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Loads, binds and starts watching. Fails fast on a missing directory, a bad bind or a CA failure. */
  public ControlPlane start() {
    if (!Files.isDirectory(configDir)) {
      throw new ControlPlaneException(ControlPlaneException.Reason.CONFIG_DIR,
          "config directory " + configDir + " does not exist or is not a directory");
    }
    onConfigThread(() -> reload(System.nanoTime()));
    onConfigThread(this::warmUp);
    ServingCa.Served served = ca.issueServing(dnsNames(listen), ipAddresses(listen));
    var services = new ArrayList<io.grpc.ServerServiceDefinition>();
    // With an authenticator the xDS stream is admitted by it (the CA service authenticates each CSR itself).
    services.add(xdsAuthenticator == null ? ads.bindService()
        : ServerInterceptors.intercept(ads.bindService(), new CallerAuthInterceptor(xdsAuthenticator)));
    ca.certificateService().ifPresent(services::add);
    NettyServerBuilder nb = NettyServerBuilder.forAddress(listen, credentials(served))
        .permitKeepAliveTime(5, TimeUnit.SECONDS)
        .permitKeepAliveWithoutCalls(true)
        .maxInboundMessageSize(200 << 20);
    BearerTokens auth = tokens == null ? null : BearerTokens.load(tokens);
    for (var s : services) {
      nb.addService(auth == null ? s : ServerInterceptors.intercept(s, auth));
    }
    try {
      server = nb.build().start();
    } catch (IOException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.LISTEN,
          "cannot listen on " + listen + (e instanceof BindException || e.getCause() instanceof BindException
              ? " (in use? another control plane or istiod running?)" : "") + ": " + e.getMessage(), e);
    }
    try {
      watcher = new DirectoryWatcher(configDir, configThread, DEBOUNCE_QUIET, DEBOUNCE_MAX, this::reload);
      watcher.start();
    } catch (IOException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.CONFIG_DIR, "cannot watch " + configDir + ": " + e, e);
    }
    log.info("control plane serving delta ADS{} on {} (TLS, names {} {}); clients verify with {}; config from {}",
        ca.certificateService().isPresent() ? " and IstioCertificateService" : "", address(), dnsNames(listen),
        ipAddresses(listen), ca.rootCertFile(), configDir);
    return this;
  }

  private void onConfigThread(Runnable r) {
    try {
      configThread.submit(r).get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
    }
  }

  /** Runs on the config thread before the port is bound: see {@link #WARM_UP_RELOADS}. */
  private void warmUp() {
    for (int i = 0; i < WARM_UP_RELOADS; i++) {
      try {
        config.warmUp();
      } catch (RuntimeException e) {
        log.debug("warm-up parse failed", e);
      }
      reload(System.nanoTime());
      for (String type : List.of(Rpc.TYPE_ADDRESS, Rpc.TYPE_AUTHORIZATION)) {
        warmUpPush(store.snapshot(type));
      }
    }
  }

  /**
   * What a stream runs on a push after a change, without sending anything: a wildcard subscription's diff
   * against a snapshot in which one resource has a new version, and the encoding of that one-resource delta
   * (as {@link DeltaStream} builds it, serialised as gRPC would). Returns the encoded size (for tests).
   */
  static int warmUpPush(TypeSnapshot current) {
    TypeSubscription sub = new TypeSubscription();
    sub.applyInitial(List.of(), List.of(), Map.of());
    sub.next(current);
    StoredResource any = current.resources().values().stream().findFirst().orElse(null);
    if (any == null) {
      return 0;
    }
    var changed = dev.ambient.xds.config.PersistentMap.copyOf(current.resources()).edit();
    changed.put(any.name(), new StoredResource(any.name(), any.version() + "-warm-up", any.resource(), any.aliases()));
    // made as a publish makes it, so the subscription takes the changed-names path of a real push
    TypeSnapshot next = current.next(current.version() + 1, changed.build(), List.of(any.name()));
    TypeSubscription.Delta delta = sub.next(next);
    return DeltaStream.response(current.typeUrl(), "warm-up", next, delta, new java.util.HashMap<>())
        .build().toByteString().size();
  }

  /**
   * Runs on the config thread: loads, reports new problems, publishes. {@code event} is when the change was
   * first seen (the watcher's first event of the burst), for {@link #timings}.
   */
  private void reload(long event) {
    long start = System.nanoTime();
    // The loader's change sets are relative to its previous load: after a failed reload, compare everything.
    boolean compareAll = compareAllNext;
    compareAllNext = true;
    LoadedConfig loaded = config.load();
    long loadedAt = System.nanoTime();
    Set<ConfigProblem> before = new LinkedHashSet<>(problems);
    for (ConfigProblem p : loaded.problems()) {
      if (!before.contains(p)) {
        log.error("config error: {} (any earlier good content of this file stays in force)", p);
      }
    }
    for (ConfigProblem p : before) {
      if (!loaded.problems().contains(p)) {
        log.info("config error resolved: {}", p.file());
      }
    }
    for (ConfigProblem w : loaded.warnings()) {
      if (!warnings.contains(w)) {
        log.warn("config warning: {}", w);
      }
    }
    warnings = Set.copyOf(loaded.warnings());
    problems = loaded.problems();
    LoadedConfig.Changes changes = compareAll ? null : loaded.changes();
    Map<String, StoredResources.Update> byType = new LinkedHashMap<>();
    byType.put(Rpc.TYPE_ADDRESS, storedAddresses.update(loaded.addresses(), loaded.aliases(),
        changes == null ? null : changes.addresses()));
    byType.put(Rpc.TYPE_AUTHORIZATION, storedPolicies.update(loaded.policies(), Map.of(),
        changes == null ? null : changes.policies()));
    long stored = System.nanoTime();
    long version = store.publishChanges(byType);
    long published = System.nanoTime();
    compareAllNext = false;
    if (timings.isDebugEnabled()) {
      timings.debug("reload event={} start={} loaded={} stored={} published={} version={}: waited {} ms, load {} ms,"
          + " store {} ms, publish and push {} ms; changed {} addresses, {} policies", event, start, loadedAt, stored,
          published, version, ms(start - event), ms(loadedAt - start), ms(stored - loadedAt), ms(published - stored),
          byType.get(Rpc.TYPE_ADDRESS).changed().size(), byType.get(Rpc.TYPE_AUTHORIZATION).changed().size());
    }
    if (log.isDebugEnabled()) {
      log.debug("config loaded: {} addresses ({} changed), {} policies ({} changed), store version {}",
          loaded.addresses().size(), byType.get(Rpc.TYPE_ADDRESS).changed().size(), loaded.policies().size(),
          byType.get(Rpc.TYPE_AUTHORIZATION).changed().size(), version);
    }
  }

  private static String ms(long nanos) {
    return String.format(java.util.Locale.ROOT, "%.2f", nanos / 1e6);
  }

  static List<String> dnsNames(InetSocketAddress listen) {
    List<String> names = new ArrayList<>(List.of(ISTIOD_NAME));
    if (listen.getAddress().isLoopbackAddress() || listen.getAddress().isAnyLocalAddress()) {
      names.add("localhost");
    }
    if (listen.getHostString() != null && !listen.getHostString().equals(listen.getAddress().getHostAddress())
        && !names.contains(listen.getHostString())) {
      names.add(listen.getHostString());
    }
    return names;
  }

  static List<InetAddress> ipAddresses(InetSocketAddress listen) {
    InetAddress a = listen.getAddress();
    return a.isAnyLocalAddress() ? List.of(InetAddress.getLoopbackAddress()) : List.of(a);
  }

  private static TlsServerCredentials.Builder tls() {
    return TlsServerCredentials.newBuilder();
  }

  private static io.grpc.ServerCredentials credentials(ServingCa.Served served) {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] pw = new char[0];
      ks.setKeyEntry("serving", served.key(), pw, served.chain().toArray(X509Certificate[]::new));
      KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, pw);
      return tls().keyManager(kmf.getKeyManagers()).build();
    } catch (GeneralSecurityException | IOException e) {
      throw new ControlPlaneException(ControlPlaneException.Reason.CA, "cannot use the serving certificate: " + e, e);
    }
  }

  /** The bound address (with the real port when 0 was asked for). */
  public InetSocketAddress address() {
    Server s = server;
    if (s == null) {
      return listen;
    }
    return (InetSocketAddress) s.getListenSockets().getFirst();
  }

  public ResourceStore store() {
    return store;
  }

  public DeltaAdsServer ads() {
    return ads;
  }

  /** The files currently reported as bad. */
  public List<ConfigProblem> problems() {
    return problems;
  }

  @Override
  public void close() {
    if (watcher != null) {
      watcher.close();
    }
    configThread.shutdownNow();
    ads.closeAll();
    Server s = server;
    if (s != null) {
      s.shutdown();
      try {
        if (!s.awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS)) {
          s.shutdownNow().awaitTermination(SHUTDOWN_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        }
      } catch (InterruptedException e) {
        s.shutdownNow();
        Thread.currentThread().interrupt();
      }
    }
  }

  /** Builds a {@link ControlPlane}. */
  public static final class Builder {
    private @Nullable Path configDir;
    private @Nullable ConfigSource config;
    private @Nullable ServingCa ca;
    private InetSocketAddress listen = DEFAULT_LISTEN;
    private @Nullable Path tokens;
    private @Nullable CallerAuthenticator xdsAuthenticator;

    Builder() {}

    public Builder configDir(Path dir) {
      this.configDir = requireNonNull(dir, "dir");
      return this;
    }

    public Builder configSource(ConfigSource source) {
      this.config = requireNonNull(source, "source");
      return this;
    }

    public Builder ca(ServingCa ca) {
      this.ca = requireNonNull(ca, "ca");
      return this;
    }

    /** Default {@code 127.0.0.1:15012}; port 0 picks a free port. */
    public Builder listen(InetSocketAddress listen) {
      this.listen = requireNonNull(listen, "listen");
      return this;
    }

    /** A file of accepted bearer tokens (one per line); without it every client is accepted. */
    public Builder tokens(Path tokens) {
      this.tokens = requireNonNull(tokens, "tokens");
      return this;
    }

    /**
     * Admits xDS streams only when {@code authenticator} accepts their headers (e.g. the Kubernetes
     * TokenReview one); excludes {@link #tokens}.
     */
    public Builder xdsAuthenticator(CallerAuthenticator authenticator) {
      this.xdsAuthenticator = requireNonNull(authenticator, "authenticator");
      return this;
    }

    public ControlPlane build() {
      return new ControlPlane(this);
    }
  }
}
