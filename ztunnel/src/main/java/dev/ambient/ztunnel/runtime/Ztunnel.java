package dev.ambient.ztunnel.runtime;

import static java.util.Objects.requireNonNull;

import dev.ambient.hbone.HboneClient;
import dev.ambient.identity.SpiffeId;
import dev.ambient.net.Transport;
import dev.ambient.xds.ca.SecretManager;
import dev.ambient.xds.client.XdsChannelFactory;
import dev.ambient.xds.client.XdsClient;
import dev.ambient.ztunnel.ZtunnelConfig;
import dev.ambient.ztunnel.admin.AdminServer;
import dev.ambient.ztunnel.admin.BuildInfo;
import dev.ambient.ztunnel.admin.ConfigDump;
import dev.ambient.ztunnel.admin.MetricsScrape;
import dev.ambient.ztunnel.admin.MetricsServer;
import dev.ambient.ztunnel.admin.Readiness;
import dev.ambient.ztunnel.admin.ReadinessServer;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import dev.ambient.ztunnel.inpod.InPodProxies;
import dev.ambient.ztunnel.inpod.SelfInbound;
import dev.ambient.ztunnel.inpod.WorkloadManager;
import dev.ambient.ztunnel.inpod.ZdsClient;
import dev.ambient.ztunnel.inpod.ZdsException;
import dev.ambient.ztunnel.proxy.LinuxProxySockets;
import dev.ambient.ztunnel.proxy.ProxyInputs;
import dev.ambient.ztunnel.proxy.ProxyListener;
import dev.ambient.ztunnel.proxy.SecretManagerCertificates;
import dev.ambient.ztunnel.proxy.Sockets;
import dev.ambient.ztunnel.proxy.WorkloadCertificates;
import dev.ambient.ztunnel.proxy.inbound.InboundPlaintextProxy;
import dev.ambient.ztunnel.proxy.inbound.InboundProxy;
import dev.ambient.ztunnel.proxy.outbound.OutboundProxy;
import dev.ambient.ztunnel.proxy.outbound.Socks5Proxy;
import dev.ambient.ztunnel.state.ProxyState;
import dev.ambient.ztunnel.telemetry.IstioMetrics;
import dev.ambient.ztunnel.telemetry.IstioTelemetry;
import io.netty.channel.EventLoopGroup;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One ztunnel process (spec §9.4, §9.6): admin/metrics/readiness first, then xDS (or the local
 * file) and certificates, and the proxies only after the first full sync: in dedicated mode the
 * listeners of the one workload, in shared mode the ZDS client and the per-pod proxies of the
 * {@link WorkloadManager} (spec §7). {@link #drain} stops accepting, lets connections finish until
 * the deadline and closes the rest.
 */
public final class Ztunnel implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Ztunnel.class);

  /** Readiness task names, as Istio's ztunnel reports them. */
  static final String STATE_TASK = "state manager";
  static final String PROXY_TASK = "proxy";

  /**
   * Where each listener binds. From the configuration by default; tests bind port 0 on distinct
   * loopback addresses.
   */
  public record Binds(
      InetSocketAddress outbound,
      InetSocketAddress inboundPlaintext,
      InetSocketAddress inbound,
      Optional<InetSocketAddress> socks5,
      int adminPort,
      InetSocketAddress stats,
      InetSocketAddress readiness) {
    public Binds {
      requireNonNull(outbound, "outbound");
      requireNonNull(inboundPlaintext, "inboundPlaintext");
      requireNonNull(inbound, "inbound");
      requireNonNull(socks5, "socks5");
      requireNonNull(stats, "stats");
      requireNonNull(readiness, "readiness");
    }

    /** The addresses the configuration names. */
    public static Binds of(ZtunnelConfig config) {
      ZtunnelConfig.Listeners l = config.listeners();
      return new Binds(address(l.outbound()), address(l.inboundPlaintext()), address(l.inbound()),
          l.socks5().map(Binds::address), l.admin().port(), address(l.stats()), address(l.readiness()));
    }

    static InetSocketAddress address(ZtunnelConfig.ListenAddress a) {
      try {
        InetAddress host = a.isLocalhost() ? InetAddress.getLoopbackAddress() : InetAddress.getByName(a.host());
        return new InetSocketAddress(host, a.port());
      } catch (UnknownHostException e) {
        throw new IllegalArgumentException("cannot resolve listen address " + a + ": " + e.getMessage(), e);
      }
    }
  }

  private final ZtunnelConfig config;
  private final Binds binds;
  private final Transport transport;
  private final EventLoopGroup workers;
  private final ScheduledExecutorService control;
  private final IstioMetrics metrics;
  private final IstioTelemetry telemetry;
  private final Readiness readiness = new Readiness();
  private final Authorizer authorizer;
  private final LiveConnections live;
  private final StateFeed feed;
  private final CertificateSources.Source certificateSource;
  private final SecretManager secrets;
  private final WorkloadCertificates certificates;
  private final Sockets sockets;
  private final HboneClient hbone;
  private final List<ProxyListener> listeners = new ArrayList<>();
  private final List<AutoCloseable> servers = new ArrayList<>();
  private final CompletableFuture<Void> started = new CompletableFuture<>();
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private @Nullable XdsClient xds;
  private @Nullable AdminServer admin;
  private @Nullable MetricsServer metricsServer;
  private @Nullable ReadinessServer readinessServer;
  // Shared (in-pod) mode only.
  private volatile @Nullable WorkloadManager workloadManager;
  private volatile @Nullable ZdsClient zds;

  private Ztunnel(ZtunnelConfig config, Map<String, String> env, Binds binds) {
    this.config = config;
    this.binds = binds;
    this.transport = Transport.select(Optional.ofNullable(env.get(Transport.ENV)));
    // New connections go to the first worker loop that is not busy (see LoadPackingGroup).
    this.workers = transport.newLoadPackingEventLoopGroup(config.workerThreads(), "ztunnel-worker");
    this.control = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform()
        .name("ztunnel-control").daemon().unstarted(r));
    this.metrics = new IstioMetrics(config.istioVersion());
    this.telemetry = new IstioTelemetry(metrics, config.logging().format());
    this.authorizer = Authorizer.create(new AuthzLogging(config.logging().authzPolicyInfo()));
    this.live = new LiveConnections(authorizer,
        revoked -> log.info("connection closed by a policy change: {} ({})", revoked.connection(), revoked.error()));
    this.feed = new StateFeed(live);
    this.certificateSource = CertificateSources.create(config, env);
    this.secrets = SecretManager.builder().fetcher(certificateSource).executor(control).build();
    this.certificates = new SecretManagerCertificates(secrets, SecretManagerCertificates.options(config.tls()));
    this.sockets = LinuxProxySockets.create(config, transport);
    this.hbone = HboneClient.builder()
        .transport(transport)
        .eventLoopGroup(workers)
        .config(config.hbone().pool())
        .socketCustomizer(sockets.outgoing(null))
        .build();
  }

  /**
   * Starts a ztunnel: the admin, metrics and readiness servers at once; the proxy listeners once
   * the first xDS sync (or the local config) is in. Returns without waiting for the sync; see
   * {@link #started()}.
   */
  public static Ztunnel start(ZtunnelConfig config, Map<String, String> env) throws LocalXdsLoader.LocalXdsException {
    return start(config, env, Binds.of(config));
  }

  /** {@link #start(ZtunnelConfig, Map)} with explicit listener addresses. */
  public static Ztunnel start(ZtunnelConfig config, Map<String, String> env, Binds binds)
      throws LocalXdsLoader.LocalXdsException {
    Ztunnel z = new Ztunnel(requireNonNull(config, "config"), requireNonNull(env, "env"), requireNonNull(binds, "binds"));
    try {
      z.startServing(env);
    } catch (RuntimeException | LocalXdsLoader.LocalXdsException e) {
      z.close();
      throw e;
    }
    return z;
  }

  private void startServing(Map<String, String> env) throws LocalXdsLoader.LocalXdsException {
    Readiness.Task stateTask = readiness.register(STATE_TASK);
    boolean shared = config.proxyMode() == ZtunnelConfig.ProxyMode.SHARED;
    // Shared mode: the workload manager's own readiness task stands for the proxies.
    Readiness.@Nullable Task proxyTask = shared ? null : readiness.register(PROXY_TASK);
    if (shared) {
      workloadManager = WorkloadManager.create(new InPodProxies(config, feed.state(), feed.policySupplier(),
          authorizer, live, certificates, sockets, telemetry, transport, workers), feed.state(),
          config.identity().nodeName(), certificates, metrics.registry(), readiness, control);
    }
    readinessServer = ReadinessServer.start(binds.readiness(), readiness);
    servers.add(readinessServer);
    metricsServer = MetricsServer.start(binds.stats(), accept -> {
      IstioMetrics.Scrape s = metrics.scrape(accept);
      return new MetricsScrape(s.contentType(), s.body().getBytes(StandardCharsets.UTF_8));
    });
    servers.add(metricsServer);
    admin = AdminServer.start(binds.adminPort(), new DumpSources(),
        () -> drain(config.terminationDeadline()), config.terminationDeadline());

    CompletableFuture<Void> synced;
    Optional<dev.ambient.xds.client.XdsUpdate> local = LocalXdsLoader.load(config.localXds());
    if (local.isPresent()) {
      feed.onUpdate(local.get());
      synced = CompletableFuture.completedFuture(null);
      log.info("ztunnel: local config applied ({} workloads, {} services, {} policies)",
          feed.state().current().workloadCount(), feed.state().current().serviceCount(), feed.policies().size());
    } else if (config.xds().enabled()) {
      // The node comes from the parsed config, not the raw environment: it carries the mesh config's and
      // PROXY_CONFIG's proxyMetadata (spec §2.3); the address may come from ProxyConfig discoveryAddress.
      ZtunnelConfig.ControlPlane cp = config.xds();
      XdsClient client = XdsClient.builder().environment(env).node(config.node())
          .channelFactory(XdsChannelFactory.tls(cp.address().orElseThrow(), cp.rootCa(), cp.altHostname().orElse(null),
              config.tls().tls12Enabled()))
          .meterRegistry(metrics.registry()).build();
      xds = client;
      client.watch(feed);
      client.start();
      synced = client.synced();
    } else {
      log.warn("ztunnel: neither xDS nor a local config: serving an empty mesh");
      synced = CompletableFuture.completedFuture(null);
    }
    synced.whenComplete((v, t) -> {
      if (t != null) {
        started.completeExceptionally(t);
        return;
      }
      stateTask.done();
      try {
        if (shared) {
          startInPod();
          started.complete(null);
          log.info("ztunnel started in shared mode, ZDS socket {}", config.inPod().uds());
          return;
        }
        startListeners();
        requireNonNull(proxyTask).done();
        started.complete(null);
        log.info("ztunnel ready: {}", listeners.stream().map(l -> l.localAddress().toString()).toList());
      } catch (RuntimeException e) {
        log.error("ztunnel: cannot start the proxy listeners: {}", e.getMessage());
        started.completeExceptionally(e);
      }
    });
  }

  private synchronized void startListeners() {
    if (draining.get()) {
      return;
    }
    ZtunnelConfig.WorkloadInfo workload = config.workloadInfo().orElseThrow(
        () -> new IllegalStateException("dedicated mode needs PROXY_WORKLOAD_INFO"));
    ProxyInputs inputs = new ProxyInputs(config, workload, feed.state(), feed.policySupplier(),
        authorizer, live, certificates, sockets, telemetry, transport, workers);
    listeners.add(InboundProxy.bind(inputs, binds.inbound()));
    listeners.add(InboundPlaintextProxy.bind(inputs, binds.inboundPlaintext()));
    listeners.add(OutboundProxy.bind(inputs, hbone, binds.outbound()));
    binds.socks5().ifPresent(a -> listeners.add(Socks5Proxy.bind(inputs, hbone, a, OutboundProxy.Options.defaults())));
  }

  /** Shared mode: connects to the node agent, which hands the pods to the workload manager. */
  private synchronized void startInPod() {
    WorkloadManager manager = requireNonNull(workloadManager);
    if (draining.get()) {
      return;
    }
    startSelfInbound();
    zds = ZdsClient.start(Path.of(config.inPod().uds()), manager, this::zdsProtocolError);
  }

  /**
   * Shared mode with POD_NAMESPACE, POD_NAME and SERVICE_ACCOUNT: ztunnel's own inbound HBONE
   * listener in its own netns (spec §7.6), drained with the other listeners.
   */
  private void startSelfInbound() {
    SelfInbound.workloadInfo(config.proxyMode(), config.identity()).ifPresent(self -> {
      ProxyInputs inputs = new ProxyInputs(config, self, feed.state(), feed.policySupplier(), authorizer, live,
          certificates, sockets, telemetry, transport, workers);
      ProxyListener listener = SelfInbound.bind(inputs, binds.inbound());
      listeners.add(listener);
      log.info("ztunnel's own inbound HBONE listener on {} as {}/{} ({})", listener.localAddress(), self.namespace(),
          self.name(), SelfInbound.find(feed.state().current().workloads(), self, config.identity().nodeName())
              .map(w -> "workload " + w.uid()).orElse("not in xDS yet: handshakes wait for it"));
    });
  }

  /** Spec §7.4: an incompatible node agent ends the process (status 1); {@link #terminated} fails. */
  private void zdsProtocolError(ZdsException e) {
    log.error("ztunnel: stopping after a ZDS protocol error: {}", e.getMessage());
    if (draining.compareAndSet(false, true)) {
      closeAll();
    }
    terminated.completeExceptionally(e);
  }

  /** Shared mode: the per-pod proxies; empty in dedicated mode. */
  public Optional<WorkloadManager> workloadManager() {
    return Optional.ofNullable(workloadManager);
  }

  /** Completes when the listeners accept connections (after the first xDS sync). */
  public CompletableFuture<Void> started() {
    return started;
  }

  /** Completes when the process has drained and closed everything. */
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  public Readiness readiness() {
    return readiness;
  }

  public IstioMetrics metrics() {
    return metrics;
  }

  /** The current state snapshot. */
  public ProxyState state() {
    return feed.state().current();
  }

  public LiveConnections liveConnections() {
    return live;
  }

  public SecretManager secrets() {
    return secrets;
  }

  /**
   * The bound listeners, in start order: dedicated mode inbound, inbound plaintext, outbound, SOCKS5;
   * shared mode only ztunnel's own inbound HBONE listener, when configured.
   */
  public synchronized List<ProxyListener> listeners() {
    return List.copyOf(listeners);
  }

  public Optional<InetSocketAddress> adminAddress() {
    return Optional.ofNullable(admin).map(AdminServer::localAddress);
  }

  public Optional<InetSocketAddress> metricsAddress() {
    return Optional.ofNullable(metricsServer).map(MetricsServer::localAddress);
  }

  public Optional<InetSocketAddress> readinessAddress() {
    return Optional.ofNullable(readinessServer).map(ReadinessServer::localAddress);
  }

  /**
   * Graceful drain (spec §9.6): stop accepting on every listener, give open connections until
   * {@code deadline}, close what is left, then close xDS, certificates and the servers. The admin
   * server goes last so {@code /quitquitquit} can still answer. Idempotent.
   */
  public CompletableFuture<Void> drain(Duration deadline) {
    if (!draining.compareAndSet(false, true)) {
      return terminated;
    }
    List<ProxyListener> toDrain;
    synchronized (this) {
      toDrain = List.copyOf(listeners);
    }
    log.info("ztunnel draining {} listener(s), deadline {}", toDrain.size(), deadline);
    toDrain.forEach(ProxyListener::stopAccepting);
    List<CompletableFuture<?>> waits = new ArrayList<>(toDrain.stream().map(l -> l.drain(deadline)).toList());
    ZdsClient client = zds;
    if (client != null) {
      quietly(client::close);
    }
    WorkloadManager manager = workloadManager;
    if (manager != null) {
      waits.add(manager.drain(deadline));
    }
    CompletableFuture<?>[] drains = waits.toArray(CompletableFuture[]::new);
    CompletableFuture.allOf(drains)
        .orTimeout(deadline.toMillis() + 2_000, TimeUnit.MILLISECONDS)
        .whenComplete((v, t) -> {
          if (t != null) {
            log.warn("ztunnel: drain did not finish in time: {}", t.toString());
          }
          closeAll();
          terminated.complete(null);
        });
    return terminated;
  }

  /** Immediate shutdown. */
  @Override
  public void close() {
    if (draining.compareAndSet(false, true)) {
      closeAll();
      terminated.complete(null);
    }
  }

  private void closeAll() {
    List<ProxyListener> toClose;
    synchronized (this) {
      toClose = List.copyOf(listeners);
    }
    toClose.forEach(l -> quietly(l::close));
    ZdsClient client = zds;
    if (client != null) {
      quietly(client::close);
    }
    WorkloadManager manager = workloadManager;
    if (manager != null) {
      quietly(manager::close);
    }
    quietly(hbone::close);
    if (xds != null) {
      quietly(xds::close);
    }
    quietly(secrets::close);
    quietly(certificateSource::close);
    servers.forEach(s -> quietly(s::close));
    // The admin server answers /quitquitquit after the drain; give the reply a moment.
    AdminServer a = admin;
    if (a != null) {
      control.schedule(() -> quietly(a::close), 200, TimeUnit.MILLISECONDS);
    }
    control.schedule(() -> {
      workers.shutdownGracefully(0, 1, TimeUnit.SECONDS);
      control.shutdown();
    }, 300, TimeUnit.MILLISECONDS);
  }

  private static void quietly(ThrowingRunnable r) {
    try {
      r.run();
    } catch (Exception e) {
      log.debug("while closing: {}", e.toString());
    }
  }

  @FunctionalInterface
  private interface ThrowingRunnable {
    void run() throws Exception;
  }

  /** The config dump's view of this process. */
  private final class DumpSources implements ConfigDump.Sources {
    @Override
    public Collection<dev.ambient.xds.client.Workload> workloads() {
      return feed.state().current().workloads();
    }

    @Override
    public Collection<dev.ambient.ztunnel.state.ServiceEntry> services() {
      return feed.state().current().services();
    }

    @Override
    public Map<String, Map<String, dev.ambient.ztunnel.state.Endpoint>> stagedServices() {
      return feed.state().current().stagedServices();
    }

    @Override
    public Collection<dev.ambient.xds.client.Authorization> policies() {
      return feed.policies().policies();
    }

    @Override
    public BuildInfo version() {
      return BuildInfo.current(config.istioVersion());
    }

    @Override
    public Object config() {
      return config;
    }

    @Override
    public Map<SpiffeId, SecretManager.CertState> certificates() {
      return secrets.states();
    }

    @Override
    public Map<String, dev.ambient.ztunnel.admin.WorkloadStateDump> workloadState() {
      WorkloadManager manager = workloadManager;
      return manager == null ? Map.of() : manager.workloadState();
    }
  }
}
