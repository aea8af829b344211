package dev.ambient.ztunnel.e2e;

import dev.ambient.identity.WorkloadCertificate;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509TrustManager;

/** A bare TLS handshake with an HBONE listener, to see which certificate it presents. */
final class TlsProbe {
  private TlsProbe() {}

  /** Handshakes as {@code client} (ALPN h2) and returns the server's leaf; the chain is not verified. */
  static X509Certificate serverCertificate(InetSocketAddress server, WorkloadCertificate client)
      throws IOException, GeneralSecurityException {
    try (SSLSocket s = (SSLSocket) context(client).getSocketFactory().createSocket()) {
      s.connect(server, 2_000);
      s.setSoTimeout(5_000);
      SSLParameters p = s.getSSLParameters();
      p.setApplicationProtocols(new String[] {"h2"});
      s.setSSLParameters(p);
      s.startHandshake();
      return (X509Certificate) s.getSession().getPeerCertificates()[0];
    }
  }

  static SSLContext context(WorkloadCertificate client) throws GeneralSecurityException, IOException {
    KeyStore ks = KeyStore.getInstance("PKCS12");
    ks.load(null, null);
    ks.setKeyEntry("client", client.privateKey(), new char[0],
        client.chain().toArray(java.security.cert.Certificate[]::new));
    KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
    kmf.init(ks, new char[0]);
    SSLContext ctx = SSLContext.getInstance("TLSv1.3");
    ctx.init(kmf.getKeyManagers(), new TrustManager[] {new AcceptAll()}, null);
    return ctx;
  }

  /** Only for reading what the server presents. */
  private static final class AcceptAll implements X509TrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
