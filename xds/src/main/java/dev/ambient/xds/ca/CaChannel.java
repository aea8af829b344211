package dev.ambient.xds.ca;

import dev.ambient.identity.Pem;
import io.grpc.ManagedChannel;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Objects;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CA client's channel, rebuilt when the {@code CA_ROOT_CA} file changes (spec ztunnel §8.3: "if the
 * root file's directory changes (ConfigMap symlink swap) the channel is rebuilt before the next CSR; on
 * failure the old channel is kept and rebuild retried next time").
 *
 * <p>Upstream watches the directory with a 2 s debounce and rebuilds at the next CSR; here the file is
 * looked at (one {@code stat}, following the ConfigMap's symlinks) before each CSR and read only when
 * its modification time, size or identity changed, which rebuilds at the same moment without a watcher
 * thread. Content that is unreadable or holds no certificate (a half-written file) keeps the old channel
 * and is tried again at the next CSR. The replaced channel is shut down gracefully: calls already on it
 * finish; new calls use the new one.
 *
 * <p>Thread-safe: {@link #current} is synchronized (a stat per CSR; at most 8 CSRs are in flight).
 */
final class CaChannel {
  private static final Logger log = LoggerFactory.getLogger(CaChannel.class);

  private final @Nullable Path rootFile;
  private final Function<String, ManagedChannel> factory;
  private ManagedChannel channel;
  private String rootPem;
  private @Nullable Object stamp;

  /**
   * @param rootFile the file to follow, or null for roots given inline (never rebuilt)
   * @param rootPem the roots the first channel trusts
   * @param factory builds a channel trusting the given PEM roots; throws {@link IllegalStateException} when it cannot
   */
  CaChannel(@Nullable Path rootFile, String rootPem, Function<String, ManagedChannel> factory) {
    this.rootFile = rootFile;
    this.factory = factory;
    this.rootPem = rootPem;
    this.channel = factory.apply(rootPem);
    this.stamp = rootFile == null ? null : stamp(rootFile);
  }

  /** The channel for the next call, rebuilt first if the root file changed. */
  synchronized ManagedChannel current() {
    if (rootFile == null) {
      return channel;
    }
    Object now = stamp(rootFile);
    if (Objects.equals(now, stamp)) {
      return channel;
    }
    String pem;
    try {
      pem = Files.readString(rootFile, StandardCharsets.US_ASCII);
    } catch (IOException e) {
      log.warn("CA_ROOT_CA {} changed but cannot be read ({}); keeping the current CA channel", rootFile, e.toString());
      return channel;
    }
    if (pem.equals(rootPem)) {
      stamp = now;
      return channel;
    }
    ManagedChannel next;
    try {
      if (Pem.certificates(pem).isEmpty()) {
        throw new IllegalStateException("no PEM certificate in it");
      }
      next = factory.apply(pem);
    } catch (RuntimeException e) {
      log.warn("CA_ROOT_CA {} changed but is not usable ({}); keeping the current CA channel, retrying at the next CSR",
          rootFile, e.getMessage());
      return channel;
    }
    ManagedChannel old = channel;
    channel = next;
    rootPem = pem;
    stamp = now;
    old.shutdown(); // graceful: calls in flight on the old roots finish
    log.info("CA_ROOT_CA {} changed: CA channel rebuilt with the new roots", rootFile);
    return channel;
  }

  /** The roots the current channel trusts. */
  synchronized String rootPem() {
    return rootPem;
  }

  synchronized void shutdownNow() {
    channel.shutdownNow();
  }

  synchronized String authority() {
    return channel.authority();
  }

  /** What identifies the file's current version: modification time, size and file key of the symlink target. */
  private static @Nullable Object stamp(Path file) {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      return java.util.List.of(a.lastModifiedTime(), a.size(), String.valueOf(a.fileKey()));
    } catch (IOException e) {
      return null;
    }
  }
}
