package dev.ambient.identity;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.cert.CertificateException;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** PEM encoding and decoding of certificates and PKCS#8 private keys, with the JDK only. */
public final class Pem {
  private static final Pattern BLOCK =
      Pattern.compile("-----BEGIN ([A-Z0-9 ]+)-----([A-Za-z0-9+/=\\s]*?)-----END \\1-----");

  private Pem() {}

  /** Decodes every CERTIFICATE block in {@code pem}, in order. */
  public static List<X509Certificate> certificates(String pem) {
    List<X509Certificate> out = new ArrayList<>();
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      Matcher m = BLOCK.matcher(pem);
      while (m.find()) {
        if (m.group(1).equals("CERTIFICATE")) {
          byte[] der = Base64.getMimeDecoder().decode(m.group(2));
          out.add((X509Certificate) cf.generateCertificate(new ByteArrayInputStream(der)));
        }
      }
    } catch (CertificateException e) {
      throw new IllegalArgumentException("malformed certificate in PEM: " + e.getMessage(), e);
    }
    return out;
  }

  /** Decodes the first PKCS#8 {@code PRIVATE KEY} block (EC or RSA). */
  public static PrivateKey privateKey(String pem) {
    Matcher m = BLOCK.matcher(pem);
    while (m.find()) {
      if (m.group(1).equals("PRIVATE KEY")) {
        byte[] der = Base64.getMimeDecoder().decode(m.group(2));
        for (String alg : new String[] {"EC", "RSA", "Ed25519"}) {
          try {
            return KeyFactory.getInstance(alg).generatePrivate(new PKCS8EncodedKeySpec(der));
          } catch (GeneralSecurityException e) {
            // try the next algorithm
          }
        }
        throw new IllegalArgumentException("PRIVATE KEY block is neither an EC, RSA nor Ed25519 PKCS#8 key");
      }
    }
    throw new IllegalArgumentException("no '-----BEGIN PRIVATE KEY-----' (PKCS#8) block found");
  }

  public static String encode(X509Certificate cert) {
    try {
      return encode("CERTIFICATE", cert.getEncoded());
    } catch (CertificateException e) {
      throw new IllegalStateException("cannot encode certificate", e);
    }
  }

  public static String encode(List<X509Certificate> certs) {
    StringBuilder sb = new StringBuilder();
    certs.forEach(c -> sb.append(encode(c)));
    return sb.toString();
  }

  public static String encode(PrivateKey key) {
    return encode("PRIVATE KEY", key.getEncoded());
  }

  private static String encode(String type, byte[] der) {
    return "-----BEGIN " + type + "-----\n"
        + Base64.getMimeEncoder(64, "\n".getBytes(StandardCharsets.US_ASCII)).encodeToString(der)
        + "\n-----END " + type + "-----\n";
  }
}
