package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.config.ConfigDirectory;
import dev.ambient.xds.config.ConfigLoadResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The generated mesh config loads in the real control-plane config loader, as the bench needs it. */
class L4MeshConfigTest {
  @Test
  void loadsWithoutErrorsAsTwoHboneWorkloadsAndAServiceWithTheVip(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("l4.yaml"), L4MeshConfig.yaml("198.18.0.10", "198.18.0.11", "l4b0001-n0",
        "l4b0001-n1", "198.18.1.1", List.of(8080, 5201)));

    ConfigLoadResult r = ConfigDirectory.of(dir).load();

    assertThat(r.errors()).isEmpty();
    assertThat(r.warnings()).isEmpty();
    var addresses = r.snapshot().addresses();
    String server = L4MeshConfig.SERVER.uid();
    String client = L4MeshConfig.CLIENT.uid();
    String service = "bench/" + L4MeshConfig.SERVICE_HOST;
    assertThat(addresses).containsOnlyKeys(server, client, service);
    assertThat(addresses.get(server).getWorkload().getTunnelProtocol().name()).isEqualTo("HBONE");
    assertThat(addresses.get(client).getWorkload().getTunnelProtocol().name()).isEqualTo("HBONE");
    assertThat(addresses.get(server).getWorkload().getServiceAccount()).isEqualTo("l4-server");
    assertThat(r.snapshot().aliases().get(server)).containsExactly("/198.18.0.11");
    assertThat(r.snapshot().aliases().get(client)).containsExactly("/198.18.0.10");
    assertThat(r.snapshot().aliases().get(service)).containsExactly("/198.18.1.1");
    assertThat(addresses.get(server).getWorkload().getServicesMap()).containsKey(service);
  }
}
