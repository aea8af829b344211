package dev.ambient.identity;

/**
 * TLS knobs for HBONE (spec §4.3).
 *
 * @param tls12Enabled also accept TLS 1.2 (ztunnel's {@code TLS12_ENABLED}); default off: TLS 1.3 only
 * @param offerPostQuantum offer the hybrid group X25519MLKEM768 first (before X25519 and P-256)
 * @param allowJdkFallback when BoringSSL (netty-tcnative) cannot load, use the JDK provider and log a
 *     warning; when false, that is an error
 */
public record TlsOptions(boolean tls12Enabled, boolean offerPostQuantum, boolean allowJdkFallback) {
  public static final TlsOptions DEFAULT = new TlsOptions(false, false, true);
}
