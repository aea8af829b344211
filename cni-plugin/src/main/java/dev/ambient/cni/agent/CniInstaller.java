package dev.ambient.cni.agent;

import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import java.io.IOException;
import java.lang.System.Logger;
import java.lang.System.Logger.Level;
import java.nio.charset.StandardCharsets;
import java.nio.file.ClosedWatchServiceException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * Chains {@code istio-cni} into the node's CNI configuration (spec §1.3–§1.4) and keeps it there.
 *
 * <ul>
 *   <li>The plugin launcher is copied into the bin dir atomically ({@code istio-cni.tmp.*} then rename).
 *   <li>The config to edit is the lexicographically first valid {@code *.conf}/{@code *.conflist} of
 *       the net dir (a {@code .conf} needs a {@code type}, a list needs {@code plugins}).
 *   <li>A {@code .conflist} gets any old {@code istio-cni} entry removed and the new one appended; a
 *       single-plugin {@code .conf} becomes list {@code k8s-pod-network} (cniVersion 0.3.1) of
 *       {@code [original, istio-cni]} written as {@code .conflist}. Everything else is preserved, the
 *       entry carries no {@code cniVersion}, the file keeps its mode, writes are temp-file + rename.
 *   <li>{@link #reconcile()} rewrites only when the result is no longer valid, so it is idempotent;
 *       {@link #watch()} calls it whenever either directory changes.
 * </ul>
 */
public final class CniInstaller implements AutoCloseable {
  private static final Logger LOG = System.getLogger(CniInstaller.class.getName());
  public static final String PLUGIN_TYPE = "istio-cni";
  static final String CONVERTED_LIST_NAME = "k8s-pod-network";
  static final String CONVERTED_LIST_VERSION = "0.3.1";

  private final Path binDir;
  private final Path netDir;
  private final Path launcher;
  private final Map<String, Object> entry;
  private volatile @Nullable WatchService watcher;
  private volatile int rewrites;

  /**
   * @param launcher the plugin executable to install as {@code <binDir>/istio-cni}
   * @param entry the plugin entry (see {@link #pluginEntry}); its {@code cniVersion} is dropped
   */
  public CniInstaller(Path binDir, Path netDir, Path launcher, Map<String, Object> entry) {
    this.binDir = Objects.requireNonNull(binDir, "binDir");
    this.netDir = Objects.requireNonNull(netDir, "netDir");
    this.launcher = Objects.requireNonNull(launcher, "launcher");
    Map<String, Object> e = new LinkedHashMap<>(entry);
    e.remove("cniVersion");
    e.put("type", PLUGIN_TYPE);
    e.putIfAbsent("name", PLUGIN_TYPE);
    this.entry = Json.parseObject(Json.write(e)); // the form it has when read back from the file
  }

  /** The {@code istio-cni} entry with the keys of spec §1.4. */
  public static Map<String, Object> pluginEntry(
      Path runDir, String logLevel, boolean ambientEnabled, List<EnablementSelector> selectors,
      List<String> excludeNamespaces, String podNamespace, boolean detectionRetry) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("name", PLUGIN_TYPE);
    m.put("type", PLUGIN_TYPE);
    m.put("plugin_log_level", logLevel);
    m.put("cni_agent_run_dir", runDir.toString());
    m.put("ambient_enabled", ambientEnabled);
    m.put("enablement_selectors", EnablementSelector.toJson(selectors));
    m.put("exclude_namespaces", new ArrayList<Object>(excludeNamespaces));
    m.put("pod_namespace", podNamespace);
    m.put("enable_ambient_detection_retry", detectionRetry);
    m.put("dns", new LinkedHashMap<String, Object>());
    m.put("ipam", new LinkedHashMap<String, Object>());
    return m;
  }

  public Path pluginPath() {
    return binDir.resolve(PLUGIN_TYPE);
  }

  /** How many times a config was (re)written: a count that keeps rising means something reverts us. */
  public int rewrites() {
    return rewrites;
  }

  /**
   * Installs if anything is missing or stale. Returns the config file that carries the entry, or
   * null when the net dir holds no valid primary config yet (nothing is written then).
   */
  public synchronized @Nullable Path reconcile() throws IOException {
    Path primary = primaryConfig();
    if (primary == null) {
      return null;
    }
    if (!binaryCurrent()) {
      copyBinary();
    }
    if (primary.getFileName().toString().endsWith(".conflist") && hasCurrentEntry(primary)) {
      return primary;
    }
    return insert(primary);
  }

  /** Removes the entry from every config that has one and the binary from the bin dir. */
  public synchronized void uninstall() throws IOException {
    for (Path p : configFiles()) {
      Map<String, Object> doc = readQuietly(p);
      if (doc == null || !(doc.get("plugins") instanceof List<?> plugins)) {
        continue;
      }
      List<Object> kept = new ArrayList<>();
      for (Object o : plugins) {
        if (!isOurs(o)) {
          kept.add(o);
        }
      }
      if (kept.size() != plugins.size()) {
        doc.put("plugins", kept);
        writeAtomically(p, Json.writePretty(doc));
        LOG.log(Level.INFO, "removed istio-cni from {0}", p);
      }
    }
    Files.deleteIfExists(pluginPath());
  }

  /**
   * Watches the bin and net dirs and reconciles after every change, until {@link #close()}. Blocks;
   * run it on its own thread.
   */
  public void watch() throws IOException {
    WatchService ws = FileSystems.getDefault().newWatchService();
    watcher = ws;
    try {
      for (Path d : List.of(netDir, binDir)) {
        Files.createDirectories(d);
        d.register(ws, StandardWatchEventKinds.ENTRY_CREATE, StandardWatchEventKinds.ENTRY_DELETE,
            StandardWatchEventKinds.ENTRY_MODIFY);
      }
      reconcileLogged();
      while (true) {
        WatchKey key = ws.take();
        // let a burst of events (a tool rewriting a file) settle before looking
        WatchKey more;
        do {
          key.pollEvents();
          key.reset();
          more = ws.poll(100, TimeUnit.MILLISECONDS);
          if (more != null) {
            key = more;
          }
        } while (more != null);
        reconcileLogged();
      }
    } catch (ClosedWatchServiceException e) {
      // closed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      ws.close();
    }
  }

  private void reconcileLogged() {
    int before = rewrites;
    try {
      Path p = reconcile();
      if (p == null) {
        LOG.log(Level.INFO, "no CNI config in {0} yet; waiting for the primary CNI", netDir);
      } else if (rewrites != before && rewrites > 3) {
        LOG.log(Level.WARNING, "istio-cni had to be re-inserted into {0} {1} times: another component keeps"
            + " reverting it (for Cilium set cni.exclusive=false)", p, rewrites);
      }
    } catch (IOException | RuntimeException e) {
      LOG.log(Level.WARNING, "CNI config reconcile failed: {0}", e.toString());
    }
  }

  @Override
  public void close() throws IOException {
    WatchService ws = watcher;
    if (ws != null) {
      ws.close();
    }
  }

  /** The first valid config of the net dir in lexicographic order, or null. */
  @Nullable Path primaryConfig() throws IOException {
    for (Path p : configFiles()) {
      Map<String, Object> doc = readQuietly(p);
      if (doc == null) {
        continue;
      }
      boolean list = p.getFileName().toString().endsWith(".conflist");
      if (list ? doc.get("plugins") instanceof List<?> l && !l.isEmpty() : Json.string(doc, "type") != null) {
        return p;
      }
    }
    return null;
  }

  private List<Path> configFiles() throws IOException {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(netDir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(netDir, "*.{conf,conflist}")) {
      for (Path p : ds) {
        if (Files.isRegularFile(p)) {
          out.add(p);
        }
      }
    }
    out.sort((a, b) -> a.getFileName().toString().compareTo(b.getFileName().toString()));
    return out;
  }

  private boolean hasCurrentEntry(Path conflist) {
    Map<String, Object> doc = readQuietly(conflist);
    if (doc == null) {
      return false;
    }
    List<Object> plugins = Json.list(doc, "plugins");
    return !plugins.isEmpty() && entry.equals(plugins.getLast())
        && plugins.stream().filter(CniInstaller::isOurs).count() == 1;
  }

  private Path insert(Path primary) throws IOException {
    Map<String, Object> doc = Json.parseObject(Files.readString(primary));
    String file = primary.getFileName().toString();
    Path target;
    Map<String, Object> out;
    if (file.endsWith(".conflist")) {
      List<Object> plugins = new ArrayList<>();
      for (Object o : Json.list(doc, "plugins")) {
        if (!isOurs(o)) {
          plugins.add(o);
        }
      }
      plugins.add(entry);
      out = new LinkedHashMap<>(doc);
      out.put("plugins", plugins);
      target = primary;
    } else {
      out = new LinkedHashMap<>();
      out.put("name", CONVERTED_LIST_NAME);
      out.put("cniVersion", CONVERTED_LIST_VERSION);
      out.put("plugins", new ArrayList<Object>(List.of(doc, entry)));
      target = primary.resolveSibling(file.substring(0, file.length() - ".conf".length()) + ".conflist");
    }
    Set<PosixFilePermission> mode = Files.getPosixFilePermissions(primary);
    writeAtomically(target, Json.writePretty(out), mode);
    if (!target.equals(primary)) {
      Files.delete(primary);
    }
    rewrites++;
    LOG.log(Level.INFO, "inserted istio-cni into {0}", target);
    return target;
  }

  private boolean binaryCurrent() throws IOException {
    Path p = pluginPath();
    return Files.isRegularFile(p) && Files.isExecutable(p) && Files.mismatch(p, launcher) == -1;
  }

  private void copyBinary() throws IOException {
    Files.createDirectories(binDir);
    try (DirectoryStream<Path> stale = Files.newDirectoryStream(binDir, PLUGIN_TYPE + ".tmp.*")) {
      for (Path p : stale) {
        Files.deleteIfExists(p);
      }
    }
    Path tmp = Files.createTempFile(binDir, PLUGIN_TYPE + ".tmp.", "");
    try {
      Files.copy(launcher, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rwxr-xr-x"));
      Files.move(tmp, pluginPath(), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    LOG.log(Level.INFO, "installed {0}", pluginPath());
  }

  private static boolean isOurs(Object plugin) {
    return plugin instanceof Map<?, ?> m && PLUGIN_TYPE.equals(m.get("type"));
  }

  private static @Nullable Map<String, Object> readQuietly(Path p) {
    try {
      return Json.parseObject(Files.readString(p));
    } catch (IOException | JsonException e) {
      return null;
    }
  }

  private static void writeAtomically(Path target, String content) throws IOException {
    writeAtomically(target, content, Files.getPosixFilePermissions(target));
  }

  private static void writeAtomically(Path target, String content, Set<PosixFilePermission> mode) throws IOException {
    Path tmp = Files.createTempFile(target.getParent(), target.getFileName() + ".tmp.", "");
    try {
      Files.writeString(tmp, content, StandardCharsets.UTF_8);
      Files.setPosixFilePermissions(tmp, mode);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
