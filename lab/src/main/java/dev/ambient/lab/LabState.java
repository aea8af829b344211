package dev.ambient.lab;

import java.io.IOException;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Properties;
import java.util.stream.Stream;

/**
 * The lab's state directory ({@code /run/ambient-lab}, or {@code AMBIENT_LAB_DIR}): what {@code lab up}
 * created, so that every other {@code lab} command (a separate process) and {@code lab down} find it.
 *
 * <pre>
 * lab.properties            prefix, nodes, api server URL, control-plane address, supervisor pid
 * pods/NS_NAME.properties   one per pod: node, IP octet, netns
 * config/                   the control plane's config directory (pods/ by the publisher, applied/ by lab apply)
 * nodes/node-I/             cni-bin, cni-net.d, run (pluginevent.sock, kubeconfig), ztunnel.sock, logs
 * </pre>
 */
final class LabState {
  static final Path DEFAULT_DIR = Path.of("/run/ambient-lab");

  /** The facts of a running lab. */
  record Info(LabLayout layout, String apiServer, String xdsAddress, long pid) {}

  /** A pod the lab created. */
  record Pod(String namespace, String name, int node, int octet, String netns) {}

  private final Path dir;

  LabState(Path dir) {
    this.dir = dir;
  }

  static LabState fromEnvironment() {
    String d = System.getenv("AMBIENT_LAB_DIR");
    return new LabState(d == null || d.isBlank() ? DEFAULT_DIR : Path.of(d));
  }

  Path dir() {
    return dir;
  }

  Path configDir() {
    return dir.resolve("config");
  }

  Path nodeDir(LabLayout l, int node) {
    return dir.resolve("nodes").resolve(l.nodeName(node));
  }

  Path podLog(String namespace, String name) {
    return dir.resolve("pods").resolve(namespace + "_" + name + ".log");
  }

  Path supervisorLog() {
    return dir.resolve("lab.log");
  }

  Optional<Info> info() {
    Properties p = read(dir.resolve("lab.properties"));
    if (p.isEmpty()) {
      return Optional.empty();
    }
    try {
      LabLayout layout = new LabLayout(p.getProperty("prefix", ""), Integer.parseInt(p.getProperty("nodes", "0")),
          Integer.parseInt(p.getProperty("subnet", "0")));
      return Optional.of(new Info(layout,
          p.getProperty("api", ""), p.getProperty("xds", ""), Long.parseLong(p.getProperty("pid", "0"))));
    } catch (IllegalArgumentException e) {
      throw new IllegalStateException(dir.resolve("lab.properties") + " is damaged (" + e.getMessage()
          + "); run ./ambient lab down to clean up");
    }
  }

  /** The running lab, or an error telling the user to start one. */
  Info require() {
    return info().orElseThrow(() -> new IllegalStateException("no lab is running (no " + dir.resolve("lab.properties")
        + "); start one with ./ambient lab up"));
  }

  void writeInfo(Info info) {
    Properties p = new Properties();
    p.setProperty("prefix", info.layout().prefix());
    p.setProperty("nodes", Integer.toString(info.layout().nodes()));
    p.setProperty("subnet", Integer.toString(info.layout().subnet()));
    p.setProperty("api", info.apiServer());
    p.setProperty("xds", info.xdsAddress());
    p.setProperty("pid", Long.toString(info.pid()));
    write(dir.resolve("lab.properties"), p);
  }

  /** A supervisor that is still bringing its lab up: its prefix and pid (lab.properties comes once it is ready). */
  record Starting(String prefix, long pid) {}

  void writeStarting(Starting s) {
    Properties p = new Properties();
    p.setProperty("prefix", s.prefix());
    p.setProperty("pid", Long.toString(s.pid()));
    write(dir.resolve("starting.properties"), p);
  }

  Optional<Starting> starting() {
    Properties p = read(dir.resolve("starting.properties"));
    try {
      return p.isEmpty() ? Optional.empty()
          : Optional.of(new Starting(p.getProperty("prefix", ""), Long.parseLong(p.getProperty("pid", "0"))));
    } catch (NumberFormatException e) {
      return Optional.empty();
    }
  }

  void writePod(Pod pod) {
    Properties p = new Properties();
    p.setProperty("namespace", pod.namespace());
    p.setProperty("name", pod.name());
    p.setProperty("node", Integer.toString(pod.node()));
    p.setProperty("octet", Integer.toString(pod.octet()));
    p.setProperty("netns", pod.netns());
    write(podFile(pod.namespace(), pod.name()), p);
  }

  void removePod(String namespace, String name) {
    try {
      Files.deleteIfExists(podFile(namespace, name));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Optional<Pod> pod(String namespace, String name) {
    return pods().stream().filter(p -> p.namespace().equals(namespace) && p.name().equals(name)).findFirst();
  }

  List<Pod> pods() {
    Path pods = dir.resolve("pods");
    if (!Files.isDirectory(pods)) {
      return List.of();
    }
    List<Pod> out = new ArrayList<>();
    try (Stream<Path> s = Files.list(pods)) {
      for (Path f : s.filter(f -> f.getFileName().toString().endsWith(".properties")).sorted().toList()) {
        Properties p = read(f);
        try {
          out.add(new Pod(p.getProperty("namespace", ""), p.getProperty("name", ""),
              Integer.parseInt(p.getProperty("node", "-1")), Integer.parseInt(p.getProperty("octet", "-1")),
              p.getProperty("netns", "")));
        } catch (NumberFormatException e) {
          // A damaged record: lab down still removes the namespace by prefix.
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  /** Holds an exclusive lock on {@code <dir>/lock} (serialises pod add/del between processes). */
  AutoCloseable lock() {
    try {
      Files.createDirectories(dir);
      FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
      FileLock lock = ch.lock();
      return () -> {
        lock.release();
        ch.close();
      };
    } catch (IOException e) {
      throw new UncheckedIOException("cannot lock " + dir.resolve("lock"), e);
    }
  }

  /** Deletes the whole state directory. */
  void delete() {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot delete " + dir, e);
    }
  }

  private Path podFile(String namespace, String name) {
    return dir.resolve("pods").resolve(namespace + "_" + name + ".properties");
  }

  private static Properties read(Path f) {
    Properties p = new Properties();
    try (Reader r = Files.newBufferedReader(f)) {
      p.load(r);
    } catch (NoSuchFileException e) {
      return p;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + f, e);
    }
    return p;
  }

  private static void write(Path f, Properties p) {
    try {
      Files.createDirectories(f.getParent());
      Path tmp = f.resolveSibling("." + f.getFileName() + ".tmp");
      try (Writer w = Files.newBufferedWriter(tmp)) {
        p.store(w, null);
      }
      atomicMove(tmp, f);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + f, e);
    }
  }

  /** Renames {@code from} over {@code to} atomically where the file system can. */
  static void atomicMove(Path from, Path to) throws IOException {
    try {
      Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (AtomicMoveNotSupportedException e) {
      Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
    }
  }
}
