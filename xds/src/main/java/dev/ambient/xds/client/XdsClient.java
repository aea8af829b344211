package dev.ambient.xds.client;

import static java.util.Objects.requireNonNull;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ambient.xds.api.Rpc;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Resource;
import io.grpc.CallOptions;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A delta ADS client for istiod's workload API (spec §2): it subscribes to Addresses (workloads and
 * services) and Authorizations on one bidi stream, decodes each resource on its own, ACKs or NACKs
 * with every rejection, and hands accepted changes to {@link XdsWatcher}s as one batch per
 * response.
 *
 * <h2>Lifecycle</h2>
 * {@link #start()} opens the first stream; the client reconnects forever with the backoff of
 * §2.6 until {@link #close()}. The state (and the versions of accepted resources) survives
 * disconnects: a new stream claims them in {@code initial_resource_versions}, so istiod only sends
 * changes. Rejected resources are not claimed so they are re-sent.
 *
 * <h2>Threading</h2>
 * All mutable state is confined to one {@link SynchronizationContext}: every gRPC callback, timer and
 * public call hops onto it, tasks run one at a time in submission order, and it owns no thread
 * (whichever thread submits drains the queue). Methods that touch state assert they are on it.
 * Watchers are called on it too, so they see responses in order and must not block. Public methods
 * are thread-safe; readers that need no callback use {@link #snapshot()}, one volatile read.
 *
 * <h2>Errors</h2>
 * Invalid resources are NACKed ({@code error_detail.message = "<name>: <reason>; ..."}) while the
 * valid part of the response is applied. Stream failures reach watchers as
 * {@link XdsWatcher#onAmbientError} and never drop state.
 */
public final class XdsClient implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(XdsClient.class);
  private static final List<String> TYPES = List.of(Rpc.TYPE_ADDRESS, Rpc.TYPE_AUTHORIZATION);

  private final SynchronizationContext syncContext = new SynchronizationContext(
      (t, e) -> log.error("uncaught exception in the xDS client's serial executor", e));
  private final XdsChannelFactory channelFactory;
  private final NodeInfo node;
  private final HeadersInterceptor headers;
  private final boolean onDemand;
  private final XdsMetrics metrics;
  private final XdsScheduler scheduler;
  private final @Nullable ScheduledExecutorService ownedExecutor;

  // Everything below is confined to syncContext.
  private final Map<String, TypeState> types = new LinkedHashMap<>();
  private final List<XdsWatcher> watchers = new ArrayList<>();
  /** On-demand Address names asked for on this client's lifetime (claimed with "" on reconnect). */
  private final Set<String> onDemandNames = new LinkedHashSet<>();
  private final Map<String, List<CompletableFuture<Optional<AddressResource>>>> pendingDemands = new HashMap<>();
  private final Backoff backoff = new Backoff();
  private @Nullable ManagedChannel channel;
  private @Nullable AdsStream stream;
  private XdsScheduler.@Nullable Cancellable reconnectTimer;
  private boolean started;
  private boolean closed;

  private volatile XdsSnapshot snapshot = XdsSnapshot.EMPTY;

  private XdsClient(Builder b) {
    this.channelFactory = requireNonNull(b.channelFactory, "channelFactory");
    this.node = b.node;
    this.headers = new HeadersInterceptor(b.token, b.clusterId, b.headers);
    this.onDemand = b.onDemand;
    this.metrics = new XdsMetrics(b.registry);
    if (b.scheduler != null) {
      this.scheduler = b.scheduler;
      this.ownedExecutor = null;
    } else {
      this.ownedExecutor = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "xds-client-timer");
        t.setDaemon(true);
        return t;
      });
      this.scheduler = XdsScheduler.of(ownedExecutor);
    }
    for (String t : TYPES) {
      types.put(t, new TypeState(t));
    }
    // In on-demand mode only Authorization gates readiness (spec §2.4).
    if (onDemand) {
      types.get(Rpc.TYPE_ADDRESS).synced.complete(null);
    }
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Opens the first stream. Idempotent. */
  public void start() {
    syncContext.execute(() -> {
      if (!started && !closed) {
        started = true;
        connect();
      }
    });
  }

  /**
   * Registers a watcher. Its first {@link XdsWatcher#onUpdate} carries everything held now (if
   * anything), then one call per accepted response.
   */
  public void watch(XdsWatcher watcher) {
    requireNonNull(watcher, "watcher");
    syncContext.execute(() -> {
      watchers.add(watcher);
      XdsSnapshot s = snapshot;
      if (!s.addresses().isEmpty() || !s.authorizations().isEmpty()) {
        notifyOne(watcher, new XdsUpdate(s.addresses(), Set.of(), s.authorizations(), Set.of()));
      }
    });
  }

  /** Completes at the first ACK (not NACK) of every type that gates readiness. */
  public CompletableFuture<Void> synced() {
    return CompletableFuture.allOf(
        types.values().stream().map(t -> t.synced).toArray(CompletableFuture[]::new));
  }

  /** Completes at the first ACK of {@code typeUrl} (already complete for Addresses in on-demand mode). */
  public CompletableFuture<Void> synced(String typeUrl) {
    TypeState t = types.get(typeUrl);
    if (t == null) {
      throw new IllegalArgumentException("unknown type " + typeUrl);
    }
    return t.synced.copy();
  }

  /** Everything held now, by resource name. */
  public XdsSnapshot snapshot() {
    return snapshot;
  }

  /**
   * Looks up an Address by {@code key} ({@code network/IP}, {@code namespace/hostname} or a uid).
   * Completes at once if a held resource has that name or alias; otherwise, in on-demand mode,
   * subscribes to it, and completes when a response carries a resource whose name or alias is the
   * key (with it) or lists the key as removed (empty). Fails with a {@link TimeoutException} after
   * {@code timeout}. Outside on-demand mode nothing is requested: it waits for istiod's push.
   */
  public CompletableFuture<Optional<AddressResource>> demand(String key, Duration timeout) {
    requireNonNull(key, "key");
    requireNonNull(timeout, "timeout");
    CompletableFuture<Optional<AddressResource>> f = new CompletableFuture<>();
    syncContext.execute(() -> startDemand(key, timeout, f));
    return f;
  }

  /** Ends the stream and timers, fails pending demands, shuts the channel down. */
  @Override
  public void close() {
    syncContext.execute(() -> {
      if (closed) {
        return;
      }
      closed = true;
      if (reconnectTimer != null) {
        reconnectTimer.cancel();
      }
      if (stream != null) {
        stream.cancel();
        stream = null;
      }
      pendingDemands.values().forEach(l -> l.forEach(
          f -> f.completeExceptionally(new IllegalStateException("xDS client closed"))));
      pendingDemands.clear();
      if (channel != null) {
        channel.shutdownNow();
      }
      if (ownedExecutor != null) {
        ownedExecutor.shutdownNow();
      }
    });
  }

  // ---- stream lifecycle (on syncContext) ----

  private void connect() {
    syncContext.throwIfNotInThisSynchronizationContext();
    reconnectTimer = null;
    if (closed) {
      return;
    }
    if (channel == null) {
      try {
        channel = channelFactory.create();
      } catch (Exception e) {
        // ztunnel reconnects at once here; we back off instead so a bad TLS config cannot spin.
        log.warn("could not create the xDS channel: {}", e.toString());
        onStreamEnded(null, Backoff.Reason.CONNECTION_ERROR, Status.UNAVAILABLE.withDescription(e.toString()));
        return;
      }
    }
    AdsStream s = new AdsStream();
    stream = s;
    s.requests = ClientCalls.asyncBidiStreamingCall(
        ClientInterceptors.intercept(channel, headers).newCall(Rpc.DELTA_ADS, CallOptions.DEFAULT), s);
    for (TypeState t : types.values()) {
      DeltaDiscoveryRequest.Builder r = DeltaDiscoveryRequest.newBuilder()
          .setTypeUrl(t.typeUrl)
          .setNode(node.toNode());
      if (onDemand && t.typeUrl.equals(Rpc.TYPE_ADDRESS)) {
        // "*" subscribed and unsubscribed at once: subscribed to nothing but what we ask for.
        r.addResourceNamesSubscribe("*").addResourceNamesUnsubscribe("*");
      }
      r.putAllInitialResourceVersions(initialVersions(t));
      s.send(r.build());
    }
  }

  private Map<String, String> initialVersions(TypeState t) {
    Map<String, String> versions = new TreeMap<>();
    if (t.typeUrl.equals(Rpc.TYPE_ADDRESS)) {
      onDemandNames.forEach(n -> versions.put(n, ""));
    }
    versions.putAll(t.versions);
    return versions;
  }

  private void onStreamEnded(@Nullable AdsStream s, Backoff.Reason reason, Status status) {
    syncContext.throwIfNotInThisSynchronizationContext();
    if (s != null && s != stream) {
      return; // a stream we already abandoned
    }
    stream = null;
    metrics.termination(reason);
    if (closed) {
      return;
    }
    Duration delay = backoff.onTermination(reason);
    log.info("xDS stream ended ({}: {}); reconnecting in {} ms", reason.label, status, delay.toMillis());
    Status ambient = status.isOk() ? Status.UNAVAILABLE.withDescription("xDS stream closed by the server") : status;
    for (XdsWatcher w : List.copyOf(watchers)) {
      try {
        w.onAmbientError(ambient);
      } catch (RuntimeException e) {
        log.error("xDS watcher failed on ambient error", e);
      }
    }
    if (delay.isZero()) {
      syncContext.execute(this::connect);
    } else {
      reconnectTimer = scheduler.schedule(() -> syncContext.execute(this::connect), delay);
    }
  }

  // ---- responses (on syncContext) ----

  private void handleResponse(AdsStream s, DeltaDiscoveryResponse response) {
    syncContext.throwIfNotInThisSynchronizationContext();
    if (s != stream) {
      return;
    }
    s.established = true;
    String typeUrl = response.getTypeUrl();
    long bytes = 0;
    for (Resource r : response.getResourcesList()) {
      bytes += r.getResource().getValue().size();
    }
    metrics.message(typeUrl, bytes);
    TypeState t = types.get(typeUrl);
    if (t == null) {
      log.warn("ACKing a response of unknown type {}", typeUrl);
      s.send(DeltaDiscoveryRequest.newBuilder().setTypeUrl(typeUrl).setResponseNonce(response.getNonce()).build());
      return;
    }
    boolean address = typeUrl.equals(Rpc.TYPE_ADDRESS);
    List<String> errors = new ArrayList<>();
    Map<String, AddressResource> addressUpserts = new LinkedHashMap<>();
    Map<String, Authorization> authUpserts = new LinkedHashMap<>();
    Set<String> touched = new LinkedHashSet<>();
    // Decode and validate everything before touching state.
    for (Resource r : response.getResourcesList()) {
      String name = r.getName();
      touched.add(name);
      touched.addAll(r.getAliasesList());
      try {
        if (!r.hasResource()) {
          throw new ResourceInvalidException("missing resource");
        }
        ByteString value = r.getResource().getValue();
        if (address) {
          addressUpserts.put(name, AddressParser.parse(value));
        } else {
          authUpserts.put(name, AuthorizationParser.parse(value));
        }
        t.versions.put(name, r.getVersion());
        if (address) {
          t.setAliases(name, r.getAliasesList());
        }
      } catch (ResourceInvalidException e) {
        errors.add(name + ": " + e.getMessage());
        t.versions.remove(name); // not claimed on reconnect, so istiod re-sends it
      } catch (InvalidProtocolBufferException e) {
        errors.add(name + ": failed to decode: " + e.getMessage());
        t.versions.remove(name);
      }
    }
    Set<String> removed = new LinkedHashSet<>(response.getRemovedResourcesList());
    touched.addAll(removed);
    // Apply as one batch: upserts, then removals.
    Map<String, AddressResource> addresses = new HashMap<>(snapshot.addresses());
    Map<String, Authorization> authorizations = new HashMap<>(snapshot.authorizations());
    if (address) {
      addresses.putAll(addressUpserts);
      for (String name : removed) {
        addresses.remove(name);
        t.versions.remove(name);
        t.removeName(name);
      }
    } else {
      authorizations.putAll(authUpserts);
      for (String name : removed) {
        authorizations.remove(name);
        t.versions.remove(name);
      }
    }
    snapshot = new XdsSnapshot(addresses, authorizations);
    XdsUpdate update = address
        ? new XdsUpdate(addressUpserts, removed, Map.of(), Set.of())
        : new XdsUpdate(Map.of(), Set.of(), authUpserts, removed);
    if (!update.isEmpty()) {
      for (XdsWatcher w : List.copyOf(watchers)) {
        notifyOne(w, update);
      }
    }
    if (address) {
      for (String key : touched) {
        List<CompletableFuture<Optional<AddressResource>>> waiting = pendingDemands.remove(key);
        if (waiting != null) {
          Optional<AddressResource> found = lookup(key);
          waiting.forEach(f -> f.complete(found));
        }
      }
    }
    DeltaDiscoveryRequest.Builder ack =
        DeltaDiscoveryRequest.newBuilder().setTypeUrl(typeUrl).setResponseNonce(response.getNonce());
    if (errors.isEmpty()) {
      s.send(ack.build());
      t.synced.complete(null);
    } else {
      String message = String.join("; ", errors);
      log.warn("NACKing {} (nonce {}): {}", typeUrl, response.getNonce(), message);
      ack.setErrorDetail(dev.ambient.xds.api.discovery.Status.newBuilder().setCode(0).setMessage(message));
      s.send(ack.build());
    }
  }

  private void notifyOne(XdsWatcher w, XdsUpdate update) {
    try {
      w.onUpdate(update);
    } catch (RuntimeException e) {
      log.error("xDS watcher failed on update", e);
    }
  }

  // ---- on-demand (on syncContext) ----

  private void startDemand(String key, Duration timeout, CompletableFuture<Optional<AddressResource>> f) {
    syncContext.throwIfNotInThisSynchronizationContext();
    if (closed) {
      f.completeExceptionally(new IllegalStateException("xDS client closed"));
      return;
    }
    Optional<AddressResource> held = lookup(key);
    if (held.isPresent()) {
      f.complete(held);
      return;
    }
    List<CompletableFuture<Optional<AddressResource>>> waiting = pendingDemands.get(key);
    if (waiting == null) {
      waiting = new ArrayList<>();
      pendingDemands.put(key, waiting);
      if (onDemand) {
        onDemandNames.add(key);
        if (stream != null) {
          stream.send(DeltaDiscoveryRequest.newBuilder()
              .setTypeUrl(Rpc.TYPE_ADDRESS)
              .addResourceNamesSubscribe(key)
              .build());
        }
      }
    }
    waiting.add(f);
    XdsScheduler.Cancellable timer = scheduler.schedule(() -> syncContext.execute(() -> {
      List<CompletableFuture<Optional<AddressResource>>> l = pendingDemands.get(key);
      if (l != null && l.remove(f)) {
        if (l.isEmpty()) {
          pendingDemands.remove(key);
        }
        f.completeExceptionally(new TimeoutException(
            "on-demand xDS lookup of \"" + key + "\" got no answer from the control plane within "
                + timeout.toMillis() + " ms"));
      }
    }), timeout);
    f.whenComplete((v, e) -> timer.cancel());
  }

  private Optional<AddressResource> lookup(String key) {
    XdsSnapshot s = snapshot;
    AddressResource r = s.addresses().get(key);
    if (r == null) {
      String name = types.get(Rpc.TYPE_ADDRESS).aliasToName.get(key);
      r = name == null ? null : s.addresses().get(name);
    }
    return Optional.ofNullable(r);
  }

  /** Per-type bookkeeping; confined to the sync context except the {@code synced} future. */
  private static final class TypeState {
    final String typeUrl;
    final Map<String, String> versions = new HashMap<>();
    final Map<String, String> aliasToName = new HashMap<>();
    final Map<String, List<String>> aliasesOf = new HashMap<>();
    final CompletableFuture<Void> synced = new CompletableFuture<>();

    TypeState(String typeUrl) {
      this.typeUrl = typeUrl;
    }

    void setAliases(String name, List<String> aliases) {
      removeName(name);
      if (!aliases.isEmpty()) {
        aliasesOf.put(name, List.copyOf(aliases));
        aliases.forEach(a -> aliasToName.put(a, name));
      }
    }

    /** Forgets a resource's aliases, or, if {@code name} is itself an alias, just that alias. */
    void removeName(String name) {
      List<String> old = aliasesOf.remove(name);
      if (old != null) {
        old.forEach(a -> aliasToName.remove(a, name));
      }
      aliasToName.remove(name);
    }
  }

  /** One gRPC stream; callbacks hop onto the sync context and are ignored once it is replaced. */
  private final class AdsStream implements StreamObserver<DeltaDiscoveryResponse> {
    @Nullable StreamObserver<DeltaDiscoveryRequest> requests;
    boolean established;

    void send(DeltaDiscoveryRequest r) {
      syncContext.throwIfNotInThisSynchronizationContext();
      requests.onNext(r);
    }

    void cancel() {
      requests.onError(Status.CANCELLED.withDescription("xDS client closed").asRuntimeException());
    }

    @Override
    public void onNext(DeltaDiscoveryResponse value) {
      syncContext.execute(() -> handleResponse(this, value));
    }

    @Override
    public void onError(Throwable t) {
      Status status = Status.fromThrowable(t);
      syncContext.execute(() -> onStreamEnded(this, Backoff.classify(status, established), status));
    }

    @Override
    public void onCompleted() {
      syncContext.execute(() -> onStreamEnded(this, Backoff.Reason.COMPLETE, Status.OK));
    }
  }

  /** Builds an {@link XdsClient}; only the channel factory is required. */
  public static final class Builder {
    private @Nullable XdsChannelFactory channelFactory;
    private NodeInfo node = NodeInfo.fromEnvironment(Map.of());
    private AuthToken token = new AuthToken.None();
    private String clusterId = Workload.DEFAULT_CLUSTER_ID;
    private final Map<String, String> headers = new LinkedHashMap<>();
    private boolean onDemand;
    private MeterRegistry registry = new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
    private @Nullable XdsScheduler scheduler;

    private Builder() {}

    public Builder channelFactory(XdsChannelFactory channelFactory) {
      this.channelFactory = requireNonNull(channelFactory, "channelFactory");
      return this;
    }

    public Builder node(NodeInfo node) {
      this.node = requireNonNull(node, "node");
      return this;
    }

    /** Sent as {@code authorization: Bearer <token>} on every stream (a file is re-read each time). */
    public Builder token(AuthToken token) {
      this.token = requireNonNull(token, "token");
      return this;
    }

    /** Sent as {@code clusterid}; default {@code Kubernetes}. */
    public Builder clusterId(String clusterId) {
      this.clusterId = requireNonNull(clusterId, "clusterId");
      return this;
    }

    /** An extra request header (what {@code XDS_HEADER_<name>=<value>} sets). */
    public Builder header(String name, String value) {
      headers.put(requireNonNull(name, "name"), requireNonNull(value, "value"));
      return this;
    }

    /** On-demand Address subscriptions ({@code XDS_ON_DEMAND=true}). */
    public Builder onDemand(boolean onDemand) {
      this.onDemand = onDemand;
      return this;
    }

    public Builder meterRegistry(MeterRegistry registry) {
      this.registry = requireNonNull(registry, "registry");
      return this;
    }

    /** The client's clock; default a private daemon timer thread. */
    public Builder scheduler(XdsScheduler scheduler) {
      this.scheduler = requireNonNull(scheduler, "scheduler");
      return this;
    }

    /**
     * Everything spec §3.3 says about the xDS client, from environment variables: the node,
     * {@code AUTH_TOKEN}, {@code ISTIO_META_CLUSTER_ID}/{@code CLUSTER_ID}, {@code XDS_HEADER_*},
     * {@code XDS_ON_DEMAND}, and a TLS channel from {@code XDS_ADDRESS}, {@code XDS_ROOT_CA},
     * {@code ALT_XDS_HOSTNAME}, {@code TLS12_ENABLED}. Pure apart from checking whether token and
     * root files exist. An empty {@code XDS_ADDRESS} means xDS is disabled: don't build a client.
     */
    public Builder environment(Map<String, String> env) {
      node(NodeInfo.fromEnvironment(env));
      String tokenSetting = env.get("AUTH_TOKEN");
      if (tokenSetting != null) {
        token(AuthToken.fromSetting(tokenSetting));
      } else if (java.nio.file.Files.isRegularFile(java.nio.file.Path.of("./var/run/secrets/tokens/istio-token"))) {
        token(new AuthToken.FromFile(java.nio.file.Path.of("./var/run/secrets/tokens/istio-token")));
      }
      clusterId(env.getOrDefault("ISTIO_META_CLUSTER_ID", env.getOrDefault("CLUSTER_ID", Workload.DEFAULT_CLUSTER_ID)));
      env.forEach((k, v) -> {
        if (k.startsWith("XDS_HEADER_") && k.length() > "XDS_HEADER_".length()) {
          header(k.substring("XDS_HEADER_".length()), v);
        }
      });
      onDemand(bool(env, "XDS_ON_DEMAND", false));
      String address = env.getOrDefault("XDS_ADDRESS",
          env.containsKey("KUBERNETES_SERVICE_HOST") ? "https://istiod.istio-system.svc:15012" : "https://localhost:15012");
      if (address.isEmpty()) {
        throw new IllegalArgumentException("XDS_ADDRESS is empty: xDS is disabled");
      }
      String rootCa = env.getOrDefault("XDS_ROOT_CA", "./var/run/secrets/istio/root-cert.pem");
      String alt = env.get("ALT_XDS_HOSTNAME");
      boolean tls12 = bool(env, "TLS12_ENABLED", false);
      channelFactory(() -> TlsChannels.create(address, rootCa, alt, tls12));
      return this;
    }

    private static boolean bool(Map<String, String> env, String name, boolean dflt) {
      String v = env.get(name);
      if (v == null) {
        return dflt;
      }
      return switch (v) {
        case "true" -> true;
        case "false" -> false;
        default -> throw new IllegalArgumentException(name + " must be true or false, got \"" + v + "\"");
      };
    }

    public XdsClient build() {
      return new XdsClient(this);
    }
  }
}
