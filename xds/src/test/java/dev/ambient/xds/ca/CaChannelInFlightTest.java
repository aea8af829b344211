package dev.ambient.xds.ca;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.ambient.identity.SpiffeId;
import dev.ambient.identity.WorkloadCertificate;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Clock;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A CSR in flight when CA_ROOT_CA rotates finishes on the old channel; the next CSR uses the new roots. */
class CaChannelInFlightTest {
  @TempDir Path dir;

  @Test
  void inFlightCsrFinishes_nextCsrTrustsOnlyTheNewRoot() throws Exception {
    CertificateAuthority a = CertificateAuthority.loadOrCreate(dir.resolve("a"), "cluster.local", Clock.systemUTC());
    CertificateAuthority b = CertificateAuthority.loadOrCreate(dir.resolve("b"), "cluster.local", Clock.systemUTC());
    CountDownLatch entered = new CountDownLatch(1);
    CountDownLatch release = new CountDownLatch(1);
    SpiffeId id = SpiffeId.of("cluster.local", "ns", "sa");
    CallerAuthenticator slow = headers -> {
      entered.countDown();
      try {
        release.await(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      return new CallerAuthenticator.Caller(id, true);
    };
    Path root = Files.writeString(dir.resolve("root-cert.pem"), a.trustBundle().toPem());
    try (CaServer server = CaServer.start(a, CaService.of(a, slow));
        CaClient client = CaClient.builder().address(server.address()).rootCertFile(root)
            .authorityOverride("istiod.istio-system.svc").build()) {
      CompletableFuture<WorkloadCertificate> inFlight = client.fetch(id);
      assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();

      Path tmp = Files.writeString(dir.resolve("root.tmp"), b.trustBundle().toPem());
      Files.setLastModifiedTime(tmp, java.nio.file.attribute.FileTime.fromMillis(System.currentTimeMillis() + 5_000));
      Files.move(tmp, root, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      CompletableFuture<WorkloadCertificate> next = client.fetch(id); // rebuilds the channel with root B only
      release.countDown();

      assertThat(inFlight.get(10, TimeUnit.SECONDS).identity()).isEqualTo(id);
      assertThatThrownBy(() -> next.get(10, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
          .cause().isInstanceOfSatisfying(CaException.class,
              e -> assertThat(e.reason()).isEqualTo(CaException.Reason.CA_CALL_FAILED));
    }
  }
}
