package dev.ambient.cni.agent;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalInt;

/**
 * The uid the kubelet runs as, for the nftables probe SNAT rule (spec §2.8): the owner of the first
 * process under {@code /proc} (or {@code /host/proc}) whose name is {@code kubelet}, {@code kubelite}
 * or {@code k3s}, or whose argv[0] names {@code kubelet}.
 */
final class KubeletUid {
  private KubeletUid() {}

  /** Whether a process with this comm and NUL-separated argv is a kubelet. Pure. */
  static boolean isKubelet(String comm, String cmdline) {
    String c = comm.strip();
    if (c.equals("kubelet") || c.equals("kubelite") || c.equals("k3s") || c.startsWith("k3s-")) {
      return true;
    }
    String argv0 = cmdline.split("\0", 2)[0];
    return argv0.substring(argv0.lastIndexOf('/') + 1).equals("kubelet");
  }

  static OptionalInt find(Path proc) {
    try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, p -> p.getFileName().toString().matches("\\d+"))) {
      for (Path pid : pids) {
        try {
          String comm = Files.readString(pid.resolve("comm"), StandardCharsets.UTF_8);
          String cmdline = Files.readString(pid.resolve("cmdline"), StandardCharsets.UTF_8);
          if (isKubelet(comm, cmdline)) {
            return OptionalInt.of((Integer) Files.getAttribute(pid, "unix:uid"));
          }
        } catch (IOException | RuntimeException e) {
          // the process went away, or is not readable: next
        }
      }
    } catch (IOException e) {
      return OptionalInt.empty();
    }
    return OptionalInt.empty();
  }
}
