package dev.ambient.bench.l4;

import java.util.Optional;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Names of leg d's lab pods and the two things read from the lab's output. */
final class InPodLab {
  static final String NAMESPACE = "benchl4";
  static final String SERVER_POD = "l4-server";
  static final String CLIENT_POD = "l4-client";
  private static final Pattern POD_IP = Pattern.compile(":\\s*(198\\.1[89]\\.\\d{1,3}\\.\\d{1,3})\\b");

  private InPodLab() {}

  /** The pid of {@code what} on {@code node} in the lab's processes.txt ({@code node\twhat\tpid N\tlog}). */
  static OptionalLong pid(String processesTxt, String node, String what) {
    for (String line : processesTxt.split("\n")) {
      String[] f = line.split("\t");
      if (f.length >= 3 && f[0].equals(node) && f[1].equals(what) && f[2].startsWith("pid ")) {
        try {
          return OptionalLong.of(Long.parseLong(f[2].substring(4).strip()));
        } catch (NumberFormatException e) {
          return OptionalLong.empty();
        }
      }
    }
    return OptionalLong.empty();
  }

  /** The pod IP that {@code lab pod add} prints ("...: 198.18.x.y ..."), as the demo reads it. */
  static Optional<String> podIp(String podAddOutput) {
    Matcher m = POD_IP.matcher(podAddOutput);
    return m.find() ? Optional.of(m.group(1)) : Optional.empty();
  }
}
