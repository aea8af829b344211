package dev.ambient.ztunnel.admin;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ambient.identity.Pem;
import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import dev.ambient.xds.ca.SecretManager;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Base64;
import java.util.List;

/**
 * The {@code certificates} section of {@code /config_dump}: {@code {identity, state, certChain,
 * rootCerts}} per identity, each certificate as {@code {pem (base64 of the PEM text), serialNumber
 * (decimal), validFrom, expirationTime (RFC 3339 UTC)}}.
 */
final class CertificateJson {
  private static final JsonNodeFactory F = JsonNodeFactory.instance;

  private CertificateJson() {}

  static ObjectNode of(SpiffeId identity, SecretManager.CertState state) {
    ObjectNode o = F.objectNode();
    o.put("identity", identity.toString());
    o.put("state", stateName(state));
    ArrayNode chain = o.putArray("certChain");
    ArrayNode roots = o.putArray("rootCerts");
    if (state instanceof SecretManager.Available a) {
      WorkloadCertificate c = a.certificate();
      c.chain().forEach(x -> chain.add(cert(x)));
      c.trustBundle().roots().forEach(x -> roots.add(cert(x)));
    }
    return o;
  }

  /** {@code Available}, {@code Initializing} or {@code Unavailable: <reason>} (ztunnel's spelling). */
  static String stateName(SecretManager.CertState state) {
    return switch (state) {
      case SecretManager.Available a -> "Available";
      case SecretManager.Initializing i -> "Initializing";
      case SecretManager.Unavailable u -> "Unavailable: " + u.error().getMessage();
    };
  }

  static ObjectNode cert(X509Certificate x) {
    ObjectNode o = F.objectNode();
    String pem = Pem.encode(List.of(x));
    o.put("pem", Base64.getEncoder().encodeToString(pem.getBytes(StandardCharsets.US_ASCII)));
    o.put("serialNumber", x.getSerialNumber().toString());
    o.put("validFrom", x.getNotBefore().toInstant().toString());
    o.put("expirationTime", x.getNotAfter().toInstant().toString());
    return o;
  }
}
