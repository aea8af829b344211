package dev.ambient.xds.server;

import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.discovery.Resource;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client's delta ADS stream: its subscriptions per type URL, the nonces it has not answered,
 * and the pushes the store triggers.
 *
 * <h2>Threading</h2>
 * Requests from gRPC and change notifications from the {@link ResourceStore} are both handed to one
 * {@link SynchronizationContext} per stream, so all state here is touched by one task at a time and
 * in arrival order; nothing else is locked. A push reads the newest snapshot when it runs, so a
 * burst of changes collapses into what is left to send.
 *
 * <h2>Errors</h2>
 * A NACK is logged with its {@code error_detail}; the versions it rejected are not sent again until
 * they change. A client that goes away (cancel, error, half-close) is unregistered from the store.
 */
final class DeltaStream implements StreamObserver<DeltaDiscoveryRequest>, ResourceStore.Listener {
  private static final Logger log = LoggerFactory.getLogger(DeltaStream.class);
  /** Bound on unanswered responses remembered per stream (a client that never ACKs cannot grow it). */
  private static final int MAX_PENDING_NONCES = 1024;

  private record Pending(String typeUrl, Map<String, String> versions) {}

  private final long id;
  private final ResourceStore store;
  private final ServerCallStreamObserver<DeltaDiscoveryResponse> responses;
  private final DeltaAdsServer server;
  private final SynchronizationContext context;
  private final Map<String, TypeSubscription> subscriptions = new LinkedHashMap<>();
  private final Map<String, Pending> pending =
      new LinkedHashMap<>() {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Pending> eldest) {
          return size() > MAX_PENDING_NONCES;
        }
      };
  private long nonceCounter;
  private String node = "?";
  private boolean closed;

  DeltaStream(long id, ResourceStore store, ServerCallStreamObserver<DeltaDiscoveryResponse> responses,
      DeltaAdsServer server) {
    this.id = id;
    this.store = store;
    this.responses = responses;
    this.server = server;
    this.context = new SynchronizationContext((t, e) -> {
      log.error("xds stream {} ({}): internal error, closing the stream", id, node, e);
      close(Status.INTERNAL.withDescription("control plane error: " + e).asRuntimeException());
    });
    responses.setOnCancelHandler(() -> context.execute(() -> closed("cancelled by the client")));
  }

  void start() {
    store.addListener(this);
  }

  @Override
  public void onNext(DeltaDiscoveryRequest request) {
    context.execute(() -> handle(request));
  }

  @Override
  public void onError(Throwable t) {
    context.execute(() -> closed("client error: " + Status.fromThrowable(t)));
  }

  @Override
  public void onCompleted() {
    context.execute(() -> {
      closed("client half-closed");
      try {
        responses.onCompleted();
      } catch (RuntimeException ignored) {
        // Already cancelled.
      }
    });
  }

  @Override
  public void onChange(TypeSnapshot snapshot) {
    context.execute(() -> push(snapshot.typeUrl()));
  }

  /** Ends the stream from the server side (shutdown). */
  void close(@Nullable Throwable error) {
    context.execute(() -> {
      if (closed) {
        return;
      }
      closed("closed by the server");
      try {
        if (error == null) {
          responses.onCompleted();
        } else {
          responses.onError(error);
        }
      } catch (RuntimeException ignored) {
        // Already cancelled.
      }
    });
  }

  private void closed(String why) {
    context.throwIfNotInThisSynchronizationContext();
    if (closed) {
      return;
    }
    closed = true;
    store.removeListener(this);
    server.streamClosed(this);
    log.info("xds stream {} ({}) ended: {}", id, node, why);
  }

  private void handle(DeltaDiscoveryRequest request) {
    context.throwIfNotInThisSynchronizationContext();
    if (closed) {
      return;
    }
    if (request.hasNode() && !request.getNode().getId().isEmpty()) {
      node = request.getNode().getId();
    }
    String typeUrl = request.getTypeUrl();
    if (typeUrl.isEmpty()) {
      log.warn("xds stream {} ({}): request without type_url ignored", id, node);
      return;
    }
    boolean subscriptionChange =
        request.getResourceNamesSubscribeCount() > 0 || request.getResourceNamesUnsubscribeCount() > 0;
    TypeSubscription sub = subscriptions.get(typeUrl);
    if (!request.getResponseNonce().isEmpty()) {
      answered(request);
      if (sub != null && !subscriptionChange) {
        return;
      }
    }
    TypeSnapshot snapshot = store.snapshot(typeUrl);
    if (sub == null) {
      sub = new TypeSubscription();
      subscriptions.put(typeUrl, sub);
      sub.applyInitial(request.getResourceNamesSubscribeList(), request.getResourceNamesUnsubscribeList(),
          request.getInitialResourceVersionsMap());
      log.info("xds stream {} ({}): {} subscribed ({}, {} claimed)", id, node, typeUrl,
          sub.wildcard() ? "wildcard" : "on demand: " + sub.names(), request.getInitialResourceVersionsCount());
      // Always answer the initial request, even with nothing: the client's readiness waits for it.
      send(typeUrl, sub, snapshot, true);
      return;
    }
    sub.applyChanges(request.getResourceNamesSubscribeList(), request.getResourceNamesUnsubscribeList(), snapshot);
    log.debug("xds stream {} ({}): {} subscribe {} unsubscribe {}", id, node, typeUrl,
        request.getResourceNamesSubscribeList(), request.getResourceNamesUnsubscribeList());
    send(typeUrl, sub, snapshot, request.getResourceNamesSubscribeCount() > 0);
  }

  private void answered(DeltaDiscoveryRequest request) {
    Pending p = pending.remove(request.getResponseNonce());
    if (p == null) {
      log.debug("xds stream {} ({}): reply to unknown or old nonce {}", id, node, request.getResponseNonce());
      return;
    }
    if (request.hasErrorDetail()) {
      log.warn("xds stream {} ({}): NACK of {} nonce {} (resources {}): {}", id, node, p.typeUrl(),
          request.getResponseNonce(), p.versions(), request.getErrorDetail().getMessage());
      TypeSubscription sub = subscriptions.get(p.typeUrl());
      if (sub != null) {
        sub.rejected(p.versions());
      }
      server.metrics().nacks.increment();
    } else {
      log.debug("xds stream {} ({}): ACK of {} nonce {}", id, node, p.typeUrl(), request.getResponseNonce());
      server.metrics().acks.increment();
    }
  }

  private void push(String typeUrl) {
    context.throwIfNotInThisSynchronizationContext();
    TypeSubscription sub = subscriptions.get(typeUrl);
    if (closed || sub == null) {
      return;
    }
    send(typeUrl, sub, store.snapshot(typeUrl), false);
  }

  private void send(String typeUrl, TypeSubscription sub, TypeSnapshot snapshot, boolean evenIfEmpty) {
    TypeSubscription.Delta delta = sub.next(snapshot);
    if (delta.isEmpty() && !evenIfEmpty) {
      return;
    }
    String nonce = id + "-" + (++nonceCounter);
    Map<String, String> versions = new HashMap<>();
    DeltaDiscoveryResponse.Builder response = response(typeUrl, nonce, snapshot, delta, versions);
    pending.put(nonce, new Pending(typeUrl, versions));
    log.debug("xds stream {} ({}): {} nonce {}: {} resources, removed {}", id, node, typeUrl, nonce,
        delta.resources().size(), delta.removed());
    try {
      responses.onNext(response.build());
      server.metrics().responses.increment();
    } catch (RuntimeException e) {
      // The call was cancelled between our check and the write: the cancel handler cleans up.
      log.debug("xds stream {} ({}): send failed: {}", id, node, e.toString());
    }
  }

  /**
   * The response carrying {@code delta}; puts each sent resource's version into {@code versions}. Also run by
   * the control plane's warm-up (see {@code ControlPlane#warmUp}), so that a push after the first change is
   * not encoded by interpreted code.
   */
  static DeltaDiscoveryResponse.Builder response(String typeUrl, String nonce, TypeSnapshot snapshot,
      TypeSubscription.Delta delta, Map<String, String> versions) {
    DeltaDiscoveryResponse.Builder response = DeltaDiscoveryResponse.newBuilder()
        .setTypeUrl(typeUrl)
        .setNonce(nonce)
        .setSystemVersionInfo(Long.toString(snapshot.version()))
        .addAllRemovedResources(delta.removed());
    for (StoredResource r : delta.resources()) {
      response.addResources(Resource.newBuilder()
          .setName(r.name())
          .setVersion(r.version())
          .setResource(r.resource())
          .addAllAliases(r.aliases()));
      versions.put(r.name(), r.version());
    }
    return response;
  }

  @Override
  public String toString() {
    return "DeltaStream{" + id + ", " + node + "}";
  }
}
