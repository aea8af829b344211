package dev.ambient.xds.api;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Message;
import com.google.protobuf.TextFormat;
import com.google.protobuf.TypeRegistry;
import com.google.protobuf.UnknownFieldSet;
import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import dev.ambient.xds.api.security.Authorization;
import dev.ambient.xds.api.workload.Address;
import dev.ambient.xds.api.zds.WorkloadRequest;
import dev.ambient.xds.api.zds.WorkloadResponse;
import dev.ambient.xds.api.zds.ZdsHello;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Our .proto files against the reference encodings in ../shared/fixtures/wire: every .bin decodes
 * to its .txtpb message with no unknown fields, and encodes back to the same bytes.
 */
class WireFixturesTest {
  static final Path DIR = Path.of(System.getProperty("ambient.wire.fixtures", "../../shared/fixtures/wire"));

  /** File name prefix → message type, as the fixtures' README lists them. */
  private static final Map<String, Supplier<Message.Builder>> TYPES = Map.ofEntries(
      Map.entry("address_workload", Address::newBuilder),
      Map.entry("address_service", Address::newBuilder),
      Map.entry("authorization", Authorization::newBuilder),
      Map.entry("zds_add", WorkloadRequest::newBuilder),
      Map.entry("zds_del", WorkloadRequest::newBuilder),
      Map.entry("zds_keep", WorkloadRequest::newBuilder),
      Map.entry("zds_snapshot_sent", WorkloadRequest::newBuilder),
      Map.entry("zds_ack_error", WorkloadResponse::newBuilder),
      Map.entry("zds_hello", ZdsHello::newBuilder),
      Map.entry("ca_request", IstioCertificateRequest::newBuilder),
      Map.entry("ca_response", IstioCertificateResponse::newBuilder),
      Map.entry("delta_request_initial", DeltaDiscoveryRequest::newBuilder),
      Map.entry("delta_request_nack", DeltaDiscoveryRequest::newBuilder),
      Map.entry("delta_response", DeltaDiscoveryResponse::newBuilder));

  private static final TypeRegistry REGISTRY = TypeRegistry.newBuilder()
      .add(Address.getDescriptor()).add(Authorization.getDescriptor()).build();

  static Stream<String> fixtures() throws IOException {
    assertThat(DIR).as("wire fixtures directory (set -Dambient.wire.fixtures)").isDirectory();
    try (Stream<Path> files = Files.list(DIR)) {
      return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".bin"))
          .map(n -> n.substring(0, n.length() - 4)).sorted().toList().stream();
    }
  }

  @Test
  void everyFixtureHasAKnownType() throws IOException {
    assertThat(fixtures().toList()).isNotEmpty().allSatisfy(name -> assertThat(TYPES).containsKey(name));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("fixtures")
  void binaryDecodesToTheTextMessage_andEncodesBackToTheSameBytes(String name) throws Exception {
    byte[] bin = Files.readAllBytes(DIR.resolve(name + ".bin"));
    String text = Files.readString(DIR.resolve(name + ".txtpb"), StandardCharsets.UTF_8);

    Message decoded = TYPES.get(name).get().mergeFrom(bin).build();
    Message.Builder expected = TYPES.get(name).get();
    TextFormat.Parser.newBuilder().setTypeRegistry(REGISTRY).build().merge(text, expected);

    assertThat(decoded).isEqualTo(expected.build());
    assertNoUnknownFields(decoded, name);
    assertThat(decoded.toByteArray()).as("re-encoded %s", name).isEqualTo(bin);
  }

  private static void assertNoUnknownFields(Message m, String where) {
    assertThat(m.getUnknownFields()).as("unknown fields in %s", where).isEqualTo(UnknownFieldSet.getDefaultInstance());
    m.getAllFields().forEach((field, value) -> {
      if (value instanceof Message child) {
        assertNoUnknownFields(child, where + "." + field.getName());
      } else if (value instanceof java.util.List<?> list) {
        for (Object item : list) {
          if (item instanceof Message child) {
            assertNoUnknownFields(child, where + "." + field.getName());
          }
        }
      }
    });
  }
}
