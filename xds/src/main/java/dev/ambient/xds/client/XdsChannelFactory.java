package dev.ambient.xds.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.NettyChannelBuilder;
import org.jspecify.annotations.Nullable;

/**
 * Makes the channel the client streams over. The client creates it once (retrying on failure) and
 * shuts it down on {@link XdsClient#close}. Tests pass a plaintext or in-process channel.
 */
@FunctionalInterface
public interface XdsChannelFactory {
  ManagedChannel create() throws Exception;

  /** Plaintext HTTP/2 to {@code host:port} (tests, local control planes). */
  static XdsChannelFactory plaintext(String host, int port) {
    return () -> ControlPlaneTransport.configure(NettyChannelBuilder.forAddress(host, port)).usePlaintext().build();
  }

  /**
   * TLS as ztunnel dials istiod (spec §2.1): {@code address} is {@code https://host:port} (or
   * {@code host:port}); the server chain is verified against {@code rootCa} (a PEM file path,
   * inline PEM, or {@code SYSTEM}) and its name against the URL host or {@code altHostname}.
   */
  static XdsChannelFactory tls(String address, String rootCa, @Nullable String altHostname) {
    return tls(address, rootCa, altHostname, false);
  }

  /** {@link #tls(String, String, String)}, also allowing TLS 1.2 when {@code tls12} ({@code TLS12_ENABLED}). */
  static XdsChannelFactory tls(String address, String rootCa, @Nullable String altHostname, boolean tls12) {
    return () -> TlsChannels.create(address, rootCa, altHostname, tls12);
  }
}
