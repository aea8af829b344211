package dev.ambient.xds.config;

import static java.util.Objects.requireNonNull;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.jspecify.annotations.Nullable;

/**
 * Loads a directory of YAML config files into a {@link ConfigSnapshot}. A pure loader: it does not watch; call
 * {@link #load()} again when something changed.
 *
 * <h2>Files</h2>
 * Every {@code *.yaml} and {@code *.yml} file under the directory, recursively, in path order. Names starting with
 * {@code .} are skipped (editor swap files, and the {@code ..data} links of a mounted ConfigMap, which would
 * otherwise be read twice). Each file holds {@code ---}-separated documents; a document is either ztunnel local
 * config ({@link LocalConfigParser}) or an Istio {@code AuthorizationPolicy} / {@code PeerAuthentication}
 * ({@code security.istio.io/v1} or {@code v1beta1}), which is translated as istiod does.
 *
 * <h2>Errors</h2>
 * A file with any bad document contributes its <em>last good content</em> (from an earlier {@code load()} of this
 * object), or nothing if it never loaded; the error names the file, line, column and reason. A resource name
 * defined in two places is an error naming both; the first in path order is kept.
 *
 * <h2>Cost of a reload</h2>
 * Every file whose size, modification time or file key changed (see {@link Stat}) is read and compared with the
 * text of its last good parse; only a changed file is parsed again,
 * and only what depends on a changed file is assembled again ({@link SnapshotAssembler}): a reload after a
 * one-file edit costs in proportion to that file, not to the mesh. {@link ConfigLoadResult#changes()} names the
 * resources that differ from the previous load.
 *
 * <h2>Threading</h2>
 * {@code load()} is synchronized: the per-file cache and the assembler are the only state, and loads are meant
 * to come from one watcher thread anyway.
 */
public final class ConfigDirectory {
  private final Path directory;
  /** Last good documents per file. */
  private final Map<Path, List<ConfigDocument>> lastGood = new HashMap<>();
  /** The text each {@link #lastGood} entry was parsed from: an unchanged file is not parsed again. */
  private final Map<Path, String> lastGoodText = new HashMap<>();
  /**
   * The size, modification time and file key (device and inode) of a file when its {@link #lastGoodText} was
   * read, recorded only when the modification was at least {@link #RACY_WINDOW_MILLIS} older than the read: a
   * later load that finds the same stat does not read the file (reading and comparing 100 files of 5.5 MiB was
   * a tenth of a reload). As in git's "racy" check, a file modified shortly before it was read is read again
   * on every load until it is older than the window, so a rewrite within the file system's timestamp
   * granularity is never missed; a rename over the file (a ConfigMap update) changes its file key.
   */
  private record Stat(long size, long modifiedMillis, @Nullable Object fileKey) {}

  private final Map<Path, Stat> lastGoodStat = new HashMap<>();
  /** See {@link Stat}: 2 s covers file systems with one-second timestamps. */
  static final long RACY_WINDOW_MILLIS = 2_000;
  /** Assembles incrementally: only what depends on a file whose documents changed is derived again. */
  private SnapshotAssembler assembler; // guarded by this
  private final String rootNamespace;
  /** {@link #warmUp()} replaces the parse of one file in this many. */
  static final int WARM_UP_FILE_STRIDE = 10;
  private int warmUps; // guarded by this

  private ConfigDirectory(Path directory, String rootNamespace) {
    this.directory = requireNonNull(directory, "directory");
    this.rootNamespace = requireNonNull(rootNamespace, "rootNamespace");
    this.assembler = new SnapshotAssembler(rootNamespace);
  }

  /** A loader for {@code directory} with Istio's default root namespace, {@code istio-system}. */
  public static ConfigDirectory of(Path directory) {
    return of(directory, IstioTranslator.DEFAULT_ROOT_NAMESPACE);
  }

  /** A loader for {@code directory}; policies in {@code rootNamespace} are mesh-wide. */
  public static ConfigDirectory of(Path directory, String rootNamespace) {
    if (rootNamespace.isEmpty()) {
      throw new IllegalArgumentException("rootNamespace must not be empty");
    }
    return new ConfigDirectory(directory, rootNamespace);
  }

  public Path directory() {
    return directory;
  }

  /** Reads every file again and assembles a snapshot; never throws for bad content. */
  public synchronized ConfigLoadResult load() {
    List<ConfigError> errors = new ArrayList<>();
    List<Path> files;
    try {
      files = listFiles();
    } catch (IOException | RuntimeException e) {
      // keep serving what we had: a directory that cannot be listed right now is not an empty config
      errors.add(new ConfigError(directory, 0, 0, "cannot list the directory: " + e));
      files = lastGood.keySet().stream().sorted().toList();
      return assemble(documents(files, false, errors), errors);
    }
    lastGood.keySet().retainAll(files);
    lastGoodText.keySet().retainAll(files);
    lastGoodStat.keySet().retainAll(files);
    return assemble(documents(files, true, errors), errors);
  }

  private ConfigLoadResult assemble(Map<Path, List<ConfigDocument>> docs, List<ConfigError> errors) {
    try {
      return assembler.update(docs, errors);
    } catch (RuntimeException e) {
      // a bug, not bad content: do not build on a half-updated state (the next load starts from scratch, and
      // its change set is then relative to nothing: a caller that saw this exception must compare everything)
      assembler = new SnapshotAssembler(rootNamespace);
      throw e;
    }
  }

  /**
   * Only for the JIT: parses every file that loaded well again, and for every {@value #WARM_UP_FILE_STRIDE}th
   * file (a different tenth on each call) keeps the new parse in place of the old one, so that the next
   * {@link #load()} runs exactly what a load after a real change runs for those files: fresh document
   * instances, their claims and addresses rebuilt instead of kept from the last assembly, and (in the control plane) compared by
   * value with what is served. The new parse is of the same text, so the content of the next load is equal to
   * the last one's. Without this, a reload at start and the warm-up reloads took only the "nothing changed"
   * branches, and the first real changes after a start ran the others interpreted or deoptimised
   * (load 200 ms instead of 40 ms at 10,000 workloads).
   */
  public synchronized void warmUp() {
    int round = warmUps++;
    int i = 0;
    for (Path file : lastGoodText.keySet().stream().sorted().toList()) {
      try {
        List<ConfigDocument> docs = ConfigDocument.parseAll(lastGoodText.get(file));
        if (i % WARM_UP_FILE_STRIDE == round % WARM_UP_FILE_STRIDE && lastGood.containsKey(file)) {
          lastGood.put(file, docs);
        }
      } catch (RuntimeException e) {
        // it parsed before; whatever happens now is not this method's business
      }
      i++;
    }
  }

  private Map<Path, List<ConfigDocument>> documents(List<Path> files, boolean read, List<ConfigError> errors) {
    Map<Path, List<ConfigDocument>> out = new LinkedHashMap<>();
    for (Path file : files) {
      if (read) {
        try {
          long now = System.currentTimeMillis();
          BasicFileAttributes attributes = Files.readAttributes(file, BasicFileAttributes.class);
          Stat stat = new Stat(attributes.size(), attributes.lastModifiedTime().toMillis(), attributes.fileKey());
          if (!stat.equals(lastGoodStat.get(file)) || !lastGood.containsKey(file)) {
            lastGoodStat.remove(file);
            String text = Files.readString(file);
            // Parsing is most of a reload (SnakeYAML); a watcher event usually concerns one file of many.
            if (!text.equals(lastGoodText.get(file)) || !lastGood.containsKey(file)) {
              lastGood.put(file, ConfigDocument.parseAll(text));
              lastGoodText.put(file, text);
            }
            if (stat.modifiedMillis() < now - RACY_WINDOW_MILLIS) {
              lastGoodStat.put(file, stat);
            }
          }
        } catch (ConfigException e) {
          lastGoodStat.remove(file);
          errors.add(e.in(file));
        } catch (CharacterCodingException e) {
          errors.add(new ConfigError(file, 0, 0, "not UTF-8 text"));
        } catch (IOException e) {
          errors.add(new ConfigError(file, 0, 0, "cannot read: " + e));
        }
      }
      List<ConfigDocument> docs = lastGood.get(file);
      if (docs != null) {
        out.put(file, docs);
      }
    }
    return out;
  }

  private List<Path> listFiles() throws IOException {
    try (Stream<Path> walk = Files.walk(directory)) {
      return walk.filter(p -> !directory.relativize(p).toString().isEmpty())
          .filter(p -> !hidden(directory.relativize(p)))
          .filter(p -> {
            String name = p.getFileName().toString();
            return name.endsWith(".yaml") || name.endsWith(".yml");
          })
          .filter(Files::isRegularFile)
          .sorted()
          .toList();
    }
  }

  private static boolean hidden(Path relative) {
    for (Path part : relative) {
      if (part.toString().startsWith(".")) {
        return true;
      }
    }
    return false;
  }
}
