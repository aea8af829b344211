package dev.ambient.xds.client;

import static dev.ambient.xds.client.Fixtures.address;
import static dev.ambient.xds.client.Fixtures.policy;
import static dev.ambient.xds.client.Fixtures.service;
import static dev.ambient.xds.client.Fixtures.workload;
import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ambient.xds.api.workload.LoadBalancing;
import dev.ambient.xds.api.workload.WeightedWaypoint;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** Mutated wire bytes: the parsers return a record or throw one of their two checked exceptions, nothing else. */
class ParserRobustnessTest {
  private static final int ROUNDS = 4000;

  @Test
  void mutatedBytes_onlyRecordOrDeclaredExceptions() {
    Random random = new Random(0x5eed_a11L);
    List<byte[]> addressSeeds = List.of(
        address(workload("p").setLocality(dev.ambient.xds.api.workload.Locality.newBuilder().setRegion("r"))).toByteArray(),
        address(service("s").setLoadBalancing(LoadBalancing.newBuilder().addRoutingPreferenceValue(2))
            .addWeightedWaypoints(WeightedWaypoint.newBuilder().setDestination(service("x").getWaypoint()))).toByteArray());
    byte[] policySeed = policy("p").build().toByteArray();
    int records = 0;
    int rejected = 0;
    long start = System.nanoTime();
    for (int i = 0; i < ROUNDS; i++) {
      boolean isPolicy = i % 3 == 2;
      byte[] seed = isPolicy ? policySeed : addressSeeds.get(i % 2);
      ByteString bytes = ByteString.copyFrom(mutate(seed, random));
      try {
        Object r = isPolicy ? AuthorizationParser.parse(bytes) : AddressParser.parse(bytes);
        assertThat(r).isNotNull();
        records++;
      } catch (InvalidProtocolBufferException | ResourceInvalidException e) {
        rejected++;
      }
    }
    assertThat(records).isPositive();
    assertThat(rejected).isPositive();
    assertThat((System.nanoTime() - start) / 1_000_000).isLessThan(5_000);
  }

  private static byte[] mutate(byte[] seed, Random random) {
    byte[] b = seed.clone();
    switch (random.nextInt(4)) {
      case 0 -> {
        for (int n = 1 + random.nextInt(4); n > 0; n--) {
          b[random.nextInt(b.length)] = (byte) random.nextInt(256);
        }
      }
      case 1 -> b = java.util.Arrays.copyOf(b, random.nextInt(b.length + 1));
      case 2 -> {
        int at = random.nextInt(b.length + 1);
        byte[] extra = new byte[1 + random.nextInt(8)];
        random.nextBytes(extra);
        byte[] out = new byte[b.length + extra.length];
        System.arraycopy(b, 0, out, 0, at);
        System.arraycopy(extra, 0, out, at, extra.length);
        System.arraycopy(b, at, out, at + extra.length, b.length - at);
        b = out;
      }
      default -> b[random.nextInt(b.length)] ^= (byte) (1 << random.nextInt(8));
    }
    return b;
  }
}
