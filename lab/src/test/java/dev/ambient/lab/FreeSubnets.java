package dev.ambient.lab;

import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.IntStream;

/** Test subnets that no address or route of this machine uses: other labs and tests may run at the same time. */
final class FreeSubnets {
  private FreeSubnets() {}

  /**
   * A subnet S, a multiple of {@code step} in {@code [from, to]}, whose 198.18.S..S+width-1 no address or route
   * mentions.
   */
  static int pick(int from, int to, int step, int width) {
    String used = Sh.check("ip", "-o", "addr") + Sh.check("ip", "route");
    int choices = (to - from) / step + 1;
    for (int attempt = 0; attempt < 50; attempt++) {
      int s = from + step * ThreadLocalRandom.current().nextInt(choices);
      if (IntStream.range(s, s + width).noneMatch(o -> used.contains("198.18." + o + "."))) {
        return s;
      }
    }
    throw new IllegalStateException("no free 198.18.S.0/24 (S in " + from + ".." + to + ") on this machine");
  }
}
