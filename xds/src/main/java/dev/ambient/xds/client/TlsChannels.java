package dev.ambient.xds.client;

import io.grpc.ManagedChannel;
import io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.NettyChannelBuilder;
import io.netty.channel.ChannelOption;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.ByteArrayInputStream;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import javax.net.ssl.X509TrustManager;
import org.jspecify.annotations.Nullable;

/** The production channel to istiod: TLS, keepalives and limits of spec §2.1. */
final class TlsChannels {
  static final int MAX_INBOUND_MESSAGE_BYTES = 200 * 1024 * 1024;

  private TlsChannels() {}

  static ManagedChannel create(String address, String rootCa, @Nullable String altHostname, boolean tls12)
      throws Exception {
    URI uri = URI.create(address.contains("://") ? address : "https://" + address);
    String host = uri.getHost();
    if (host == null) {
      throw new IllegalArgumentException("xDS address has no host: " + address);
    }
    int port = uri.getPort() < 0 ? 443 : uri.getPort();
    X509TrustManager chainVerifier = chainVerifier(rootCa);
    List<String> names = altHostname == null || altHostname.isEmpty() ? List.of(host) : List.of(host, altHostname);
    // JDK provider: with an X509ExtendedTrustManager JSSE leaves the name check to us, which is how
    // one alternative name (ALT_XDS_HOSTNAME) is accepted besides the URL host.
    SslContext ssl = GrpcSslContexts.configure(SslContextBuilder.forClient(), SslProvider.JDK)
        .trustManager(new NameCheckingTrustManager(chainVerifier, names))
        .protocols(tls12 ? new String[] {"TLSv1.3", "TLSv1.2"} : new String[] {"TLSv1.3"})
        .build();
    return ControlPlaneTransport.configure(NettyChannelBuilder.forAddress(host, port))
        .sslContext(ssl)
        .keepAliveTime(30, TimeUnit.SECONDS)
        .keepAliveTimeout(10, TimeUnit.SECONDS)
        .maxInboundMessageSize(MAX_INBOUND_MESSAGE_BYTES)
        .withOption(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5_000)
        .withOption(ChannelOption.SO_KEEPALIVE, true)
        .build();
  }

  /** Trust anchors from {@code SYSTEM}, a PEM file, or inline PEM. */
  static X509TrustManager chainVerifier(String rootCa) throws GeneralSecurityException, java.io.IOException {
    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
    if ("SYSTEM".equals(rootCa)) {
      tmf.init((KeyStore) null);
    } else {
      byte[] pem = isFile(rootCa) ? Files.readAllBytes(Path.of(rootCa)) : rootCa.getBytes(StandardCharsets.US_ASCII);
      Collection<? extends java.security.cert.Certificate> certs =
          CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(pem));
      if (certs.isEmpty()) {
        throw new CertificateException("XDS_ROOT_CA holds no certificate (neither a readable file nor PEM)");
      }
      KeyStore ks = KeyStore.getInstance(KeyStore.getDefaultType());
      ks.load(null, null);
      int i = 0;
      for (var c : certs) {
        ks.setCertificateEntry("root-" + i++, c);
      }
      tmf.init(ks);
    }
    for (var tm : tmf.getTrustManagers()) {
      if (tm instanceof X509TrustManager x) {
        return x;
      }
    }
    throw new GeneralSecurityException("no X509TrustManager");
  }

  private static boolean isFile(String s) {
    try {
      return Files.isRegularFile(Path.of(s));
    } catch (InvalidPathException e) {
      return false;
    }
  }

  /** Verifies the chain with the delegate, then the leaf's SANs against any of the accepted names. */
  static final class NameCheckingTrustManager extends X509ExtendedTrustManager {
    private final X509TrustManager delegate;
    private final List<String> names;

    NameCheckingTrustManager(X509TrustManager delegate, List<String> names) {
      this.delegate = delegate;
      this.names = List.copyOf(names);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      delegate.checkServerTrusted(chain, authType);
      checkName(chain[0]);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      throw new CertificateException("client side only");
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return delegate.getAcceptedIssuers();
    }

    private void checkName(X509Certificate leaf) throws CertificateException {
      List<String> dns = new ArrayList<>();
      List<String> ips = new ArrayList<>();
      try {
        Collection<List<?>> sans = leaf.getSubjectAlternativeNames();
        if (sans != null) {
          for (List<?> san : sans) {
            int type = (Integer) san.get(0);
            if (type == 2) {
              dns.add(((String) san.get(1)).toLowerCase(Locale.ROOT));
            } else if (type == 7) {
              ips.add(InetAddress.ofLiteral((String) san.get(1)).getHostAddress());
            }
          }
        }
      } catch (CertificateParsingException | IllegalArgumentException e) {
        throw new CertificateException("unreadable subjectAltName", e);
      }
      for (String name : names) {
        if (matches(name.toLowerCase(Locale.ROOT), dns, ips)) {
          return;
        }
      }
      throw new CertificateException(
          "xDS server certificate names " + dns + ips + " match none of " + names
              + " (set ALT_XDS_HOSTNAME if istiod is reached under another name)");
    }

    private static boolean matches(String name, List<String> dns, List<String> ips) {
      if (isIpLiteral(name)) {
        return ips.contains(InetAddress.ofLiteral(name).getHostAddress());
      }
      for (String d : dns) {
        if (d.equals(name)) {
          return true;
        }
        if (d.startsWith("*.") && name.indexOf('.') > 0 && name.substring(name.indexOf('.')).equals(d.substring(1))) {
          return true;
        }
      }
      return false;
    }

    private static boolean isIpLiteral(String s) {
      if (s.indexOf(':') >= 0) {
        return true;
      }
      return s.matches("[0-9.]+");
    }
  }
}
