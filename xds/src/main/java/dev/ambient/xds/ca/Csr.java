package dev.ambient.xds.ca;

import static java.util.Objects.requireNonNull;

import dev.ambient.identity.SpiffeId;
import java.io.IOException;
import java.io.StringReader;
import java.io.StringWriter;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.spec.ECGenParameterSpec;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.RDN;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.ExtensionsGenerator;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.pkcs.PKCS10CertificationRequest;
import org.bouncycastle.pkcs.jcajce.JcaPKCS10CertificationRequestBuilder;

/**
 * A certificate signing request and the private key it was made with (spec ztunnel §8.2): a fresh
 * EC P-256 key per request, signed SHA256withECDSA, an empty subject and one extension request, a
 * <em>critical</em> SubjectAlternativeName holding exactly the SPIFFE URI.
 *
 * @param pem the PEM {@code CERTIFICATE REQUEST}, as sent in {@code IstioCertificateRequest.csr}
 * @param privateKey the key, kept in memory only
 */
public record Csr(String pem, PrivateKey privateKey) {
  public Csr {
    requireNonNull(pem, "pem");
    requireNonNull(privateKey, "privateKey");
  }

  /**
   * Generates a key pair and a CSR for {@code identity}.
   *
   * @throws CaException with {@link CaException.Reason#CSR_GENERATION} if the JDK lacks EC P-256
   */
  public static Csr generate(SpiffeId identity) {
    requireNonNull(identity, "identity");
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"));
      KeyPair kp = g.generateKeyPair();
      ExtensionsGenerator ext = new ExtensionsGenerator();
      ext.addExtension(Extension.subjectAlternativeName, true,
          new GeneralNames(new GeneralName(GeneralName.uniformResourceIdentifier, identity.toString())));
      PKCS10CertificationRequest csr = new JcaPKCS10CertificationRequestBuilder(new X500Name(new RDN[0]), kp.getPublic())
          .addAttribute(PKCSObjectIdentifiers.pkcs_9_at_extensionRequest, ext.generate())
          .build(new JcaContentSignerBuilder("SHA256withECDSA").build(kp.getPrivate()));
      StringWriter out = new StringWriter();
      try (JcaPEMWriter w = new JcaPEMWriter(out)) {
        w.writeObject(csr);
      }
      return new Csr(out.toString(), kp.getPrivate());
    } catch (GeneralSecurityException | OperatorCreationException | IOException e) {
      throw new CaException(CaException.Reason.CSR_GENERATION,
          "cannot generate an EC P-256 CSR for " + identity + ": " + e.getMessage(), e);
    }
  }

  /**
   * Parses a PEM PKCS#10 request (no signature check; {@link CertificateAuthority#sign} does that).
   *
   * @throws CaException with {@link CaException.Reason#INVALID_CSR} when {@code pem} holds no CSR
   */
  public static PKCS10CertificationRequest parse(String pem) {
    requireNonNull(pem, "pem");
    try (PEMParser parser = new PEMParser(new StringReader(pem))) {
      Object o = parser.readObject();
      if (o instanceof PKCS10CertificationRequest csr) {
        return csr;
      }
      throw new CaException(CaException.Reason.INVALID_CSR,
          o == null ? "the csr field holds no PEM block" : "the csr field holds a " + o.getClass().getSimpleName()
              + ", expected a PEM 'CERTIFICATE REQUEST'");
    } catch (IOException | RuntimeException e) {
      if (e instanceof CaException ce) {
        throw ce;
      }
      throw new CaException(CaException.Reason.INVALID_CSR, "malformed PEM CSR: " + e.getMessage(), e);
    }
  }

  @Override
  public String toString() {
    return "Csr{" + pem.length() + " chars PEM}";
  }
}
