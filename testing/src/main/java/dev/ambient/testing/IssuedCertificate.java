package dev.ambient.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;

/**
 * A leaf issued by a {@link TestCa}: its private key, the leaf, the intermediates between it and
 * the root (nearest first; empty when the root signed it) and the root.
 */
public record IssuedCertificate(
    PrivateKey privateKey, X509Certificate leaf, List<X509Certificate> intermediates, X509Certificate root) {

  public IssuedCertificate {
    intermediates = List.copyOf(intermediates);
  }

  /** Leaf then intermediates: what a peer presents. */
  public List<X509Certificate> chain() {
    List<X509Certificate> chain = new ArrayList<>(intermediates.size() + 1);
    chain.add(leaf);
    chain.addAll(intermediates);
    return List.copyOf(chain);
  }

  /** The private key as a PKCS#8 {@code PRIVATE KEY} PEM block. */
  public String keyPem() {
    return pem("PRIVATE KEY", privateKey.getEncoded());
  }

  /** Leaf then intermediates as concatenated {@code CERTIFICATE} PEM blocks. */
  public String chainPem() {
    StringBuilder sb = new StringBuilder();
    chain().forEach(c -> sb.append(certificatePem(c)));
    return sb.toString();
  }

  public String rootPem() {
    return certificatePem(root);
  }

  /** Writes {@code key.pem}, {@code cert-chain.pem} and {@code root-cert.pem} (Istio's file names) into {@code dir}. */
  public void writeTo(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve("key.pem"), keyPem(), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("cert-chain.pem"), chainPem(), StandardCharsets.US_ASCII);
      Files.writeString(dir.resolve("root-cert.pem"), rootPem(), StandardCharsets.US_ASCII);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write certificate files to " + dir, e);
    }
  }

  static String certificatePem(X509Certificate cert) {
    try {
      return pem("CERTIFICATE", cert.getEncoded());
    } catch (CertificateEncodingException e) {
      throw new IllegalStateException("cannot encode certificate", e);
    }
  }

  private static String pem(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }

  @Override
  public String toString() {
    return "IssuedCertificate{" + leaf.getSubjectX500Principal() + ", notAfter=" + leaf.getNotAfter().toInstant() + "}";
  }
}
