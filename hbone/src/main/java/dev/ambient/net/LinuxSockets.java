package dev.ambient.net;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * The Linux socket calls Netty does not expose, made with FFM ({@code java.lang.foreign}; decision
 * 0001): the original destination of a redirected connection, {@code SO_MARK},
 * {@code IP_TRANSPARENT} / {@code IP_FREEBIND}, and entering another network namespace
 * ({@link NetNamespace}). Linux x86_64 only; constants and struct layouts are that platform's.
 *
 * <p>File descriptors come from Netty native channels ({@code UnixChannel#fd().intValue()}). Every
 * failure is an {@link IOException} naming the call, the option and errno with its text.
 */
public final class LinuxSockets {
  // <sys/socket.h>, <netinet/in.h>, <linux/netfilter_ipv4.h>, <linux/netfilter_ipv6/ip6_tables.h>
  static final int SOL_SOCKET = 1;
  static final int SOL_IP = 0;
  static final int SOL_IPV6 = 41;
  static final int SO_MARK = 36;
  static final int SO_ORIGINAL_DST = 80;
  static final int IP6T_SO_ORIGINAL_DST = 80;
  static final int IP_TRANSPARENT = 19;
  static final int IPV6_TRANSPARENT = 75;
  static final int IP_FREEBIND = 15;
  static final int AF_INET = 2;
  static final int AF_INET6 = 10;
  // <fcntl.h>, <sched.h>
  static final int O_RDONLY = 0;
  static final int O_CLOEXEC = 0x80000;
  static final int CLONE_NEWNET = 0x40000000;
  // <errno.h>
  static final int EPERM = 1;
  static final int ENOENT = 2;
  static final int EINTR = 4;
  static final int ENOTCONN = 107;
  static final int ENOPROTOOPT = 92;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final SymbolLookup LIBC = LINKER.defaultLookup();
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));
  private static final Linker.Option CAPTURE_ERRNO = Linker.Option.captureCallState("errno");

  // int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
  private static final MethodHandle GETSOCKOPT = errnoCall("getsockopt",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
  // int setsockopt(int fd, int level, int name, const void *val, socklen_t len)
  private static final MethodHandle SETSOCKOPT = errnoCall("setsockopt",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  // int setns(int fd, int nstype)
  private static final MethodHandle SETNS = errnoCall("setns",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
  // int open(const char *path, int flags, ...) -- mode is the variadic argument
  private static final MethodHandle OPEN = LINKER.downcallHandle(find("open"),
      FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
      CAPTURE_ERRNO, Linker.Option.firstVariadicArg(2));
  // int close(int fd)
  private static final MethodHandle CLOSE = errnoCall("close",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT));
  // char *strerror(int errnum)
  private static final MethodHandle STRERROR = LINKER.downcallHandle(find("strerror"),
      FunctionDescriptor.of(ADDRESS, JAVA_INT));

  private static final ValueLayout.OfShort NET_SHORT = JAVA_SHORT.withOrder(ByteOrder.BIG_ENDIAN);
  /** Big enough for struct sockaddr_in6 (28 bytes), which also holds a sockaddr_in (16). */
  private static final int SOCKADDR_SIZE = 28;

  private LinuxSockets() {}

  private static MemorySegment find(String name) {
    return LIBC.find(name).orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
  }

  private static MethodHandle errnoCall(String name, FunctionDescriptor fd) {
    return LINKER.downcallHandle(find(name), fd, CAPTURE_ERRNO);
  }

  /**
   * The destination a connection had before iptables redirected it: {@code SO_ORIGINAL_DST}
   * (IPv4), then {@code IP6T_SO_ORIGINAL_DST} (IPv6). Empty when neither applies (no conntrack
   * entry, e.g. a listening socket or TPROXY: ENOENT; wrong address family: ENOPROTOOPT; not
   * connected: ENOTCONN), in which
   * case the caller uses the socket's local address. IPv4-mapped IPv6 addresses come back as IPv4.
   */
  public static Optional<InetSocketAddress> originalDestination(int fd) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment addr = arena.allocate(SOCKADDR_SIZE, 4);
      MemorySegment len = arena.allocate(JAVA_INT);
      MemorySegment state = arena.allocate(CAPTURE);
      int[] levels = {SOL_IP, SOL_IPV6};
      int[] names = {SO_ORIGINAL_DST, IP6T_SO_ORIGINAL_DST};
      for (int i = 0; i < levels.length; i++) {
        addr.fill((byte) 0);
        len.set(JAVA_INT, 0, SOCKADDR_SIZE);
        int rc = (int) GETSOCKOPT.invokeExact(state, fd, levels[i], names[i], addr, len);
        if (rc == 0) {
          return Optional.of(decodeSockaddr(addr, len.get(JAVA_INT, 0)));
        }
        int errno = errno(state);
        if (errno != ENOENT && errno != ENOPROTOOPT && errno != ENOTCONN) {
          throw failure("getsockopt(" + fd + ", " + (levels[i] == SOL_IP
              ? "SOL_IP, SO_ORIGINAL_DST" : "SOL_IPV6, IP6T_SO_ORIGINAL_DST") + ")", errno);
        }
      }
      return Optional.empty();
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /** Decodes a struct sockaddr_in / sockaddr_in6; IPv4-mapped IPv6 addresses become IPv4. */
  static InetSocketAddress decodeSockaddr(MemorySegment sa, int len) throws IOException {
    int family = Short.toUnsignedInt(sa.get(JAVA_SHORT, 0));
    int port = Short.toUnsignedInt(sa.get(NET_SHORT, 2));
    byte[] ip;
    if (family == AF_INET && len >= 8) {
      ip = sa.asSlice(4, 4).toArray(JAVA_BYTE);
    } else if (family == AF_INET6 && len >= 24) {
      ip = sa.asSlice(8, 16).toArray(JAVA_BYTE);
      if (isV4Mapped(ip)) {
        ip = Arrays.copyOfRange(ip, 12, 16);
      }
    } else {
      throw new IOException("original destination: unexpected address family " + family + " (length " + len + ")");
    }
    try {
      return new InetSocketAddress(InetAddress.getByAddress(ip), port);
    } catch (UnknownHostException e) {
      throw new IOException("original destination: bad address length " + ip.length, e);
    }
  }

  private static boolean isV4Mapped(byte[] ip) {
    for (int i = 0; i < 10; i++) {
      if (ip[i] != 0) {
        return false;
      }
    }
    return ip[10] == (byte) 0xff && ip[11] == (byte) 0xff;
  }

  /** Sets {@code SO_MARK} (needs CAP_NET_ADMIN or CAP_NET_RAW). */
  public static void setMark(int fd, int mark) throws IOException {
    int errno = setIntOption(fd, SOL_SOCKET, SO_MARK, mark);
    if (errno != 0) {
      throw failure("setsockopt(" + fd + ", SOL_SOCKET, SO_MARK, " + mark + ")", errno);
    }
  }

  /** Reads {@code SO_MARK}. */
  public static int mark(int fd) throws IOException {
    return getIntOption(fd, SOL_SOCKET, SO_MARK, "SOL_SOCKET, SO_MARK");
  }

  /**
   * Sets {@code IP_TRANSPARENT} ({@code IPV6_TRANSPARENT} when {@code ipv6}); returns false when
   * that is not permitted (EPERM: no CAP_NET_ADMIN / CAP_NET_RAW), throws on any other failure.
   */
  public static boolean trySetTransparent(int fd, boolean ipv6) throws IOException {
    int errno = ipv6 ? setIntOption(fd, SOL_IPV6, IPV6_TRANSPARENT, 1) : setIntOption(fd, SOL_IP, IP_TRANSPARENT, 1);
    if (errno == 0) {
      return true;
    }
    if (errno == EPERM) {
      return false;
    }
    throw failure("setsockopt(" + fd + ", " + (ipv6 ? "SOL_IPV6, IPV6_TRANSPARENT" : "SOL_IP, IP_TRANSPARENT") + ", 1)", errno);
  }

  /** Whether {@code IP_TRANSPARENT} / {@code IPV6_TRANSPARENT} is set. */
  public static boolean isTransparent(int fd, boolean ipv6) throws IOException {
    return ipv6
        ? getIntOption(fd, SOL_IPV6, IPV6_TRANSPARENT, "SOL_IPV6, IPV6_TRANSPARENT") != 0
        : getIntOption(fd, SOL_IP, IP_TRANSPARENT, "SOL_IP, IP_TRANSPARENT") != 0;
  }

  /**
   * Sets {@code IP_FREEBIND} (bind to an address not configured here). The SOL_IP option also
   * applies to IPv6 sockets: the kernel's IPv6 bind checks the same flag.
   */
  public static void setFreebind(int fd) throws IOException {
    int errno = setIntOption(fd, SOL_IP, IP_FREEBIND, 1);
    if (errno != 0) {
      throw failure("setsockopt(" + fd + ", SOL_IP, IP_FREEBIND, 1)", errno);
    }
  }

  /** Whether {@code IP_FREEBIND} is set. */
  public static boolean isFreebind(int fd) throws IOException {
    return getIntOption(fd, SOL_IP, IP_FREEBIND, "SOL_IP, IP_FREEBIND") != 0;
  }

  /** Returns 0 or errno. */
  private static int setIntOption(int fd, int level, int name, int value) {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment v = arena.allocateFrom(JAVA_INT, value);
      MemorySegment state = arena.allocate(CAPTURE);
      int rc = (int) SETSOCKOPT.invokeExact(state, fd, level, name, v, (int) JAVA_INT.byteSize());
      return rc == 0 ? 0 : errno(state);
    } catch (RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static int getIntOption(int fd, int level, int name, String what) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment v = arena.allocate(JAVA_INT);
      MemorySegment len = arena.allocateFrom(JAVA_INT, (int) JAVA_INT.byteSize());
      MemorySegment state = arena.allocate(CAPTURE);
      int rc = (int) GETSOCKOPT.invokeExact(state, fd, level, name, v, len);
      if (rc != 0) {
        throw failure("getsockopt(" + fd + ", " + what + ")", errno(state));
      }
      return v.get(JAVA_INT, 0);
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  private static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  /** {@code call failed: errno N (text)}. */
  static IOException failure(String call, int errno) {
    return new IOException(call + " failed: errno " + errno + " (" + strerror(errno) + ")");
  }

  /** The C library's text for an errno value. */
  static String strerror(int errno) {
    try {
      MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
      return s.equals(MemorySegment.NULL) ? "unknown error" : s.reinterpret(1024).getString(0);
    } catch (Throwable t) {
      return "unknown error";
    }
  }

  static int open(Path path, int flags) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment p = arena.allocateFrom(path.toString());
      MemorySegment state = arena.allocate(CAPTURE);
      int fd = (int) OPEN.invokeExact(state, p, flags, 0);
      if (fd < 0) {
        throw failure("open(" + path + ")", errno(state));
      }
      return fd;
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  static void close(int fd) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CAPTURE);
      int rc = (int) CLOSE.invokeExact(state, fd);
      // EINTR on Linux still closes the descriptor: never retry.
      if (rc != 0 && errno(state) != EINTR) {
        throw failure("close(" + fd + ")", errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  static void setns(int fd, int nstype) throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CAPTURE);
      int rc = (int) SETNS.invokeExact(state, fd, nstype);
      if (rc != 0) {
        throw failure("setns(" + fd + ", CLONE_NEWNET)", errno(state));
      }
    } catch (IOException | RuntimeException | Error e) {
      throw e;
    } catch (Throwable t) {
      throw new IllegalStateException(t);
    }
  }

  /**
   * An open network namespace (an {@code O_RDONLY|O_CLOEXEC} descriptor of e.g.
   * {@code /var/run/netns/NAME} or {@code /proc/PID/ns/net}) and a thread that lives in it.
   *
   * <p>{@link #run} executes code on one dedicated platform thread that has done
   * {@code setns(fd, CLONE_NEWNET)}. A dedicated thread because {@code setns} changes the namespace
   * of the calling OS thread only: the JVM's other threads (event loops, the caller) stay where
   * they are, and no shared thread is ever left in a pod's namespace by an exception. A platform
   * thread because a virtual thread may move between carrier threads, which would take the namespace
   * along (or not). Sockets keep the namespace they were created in, so a socket created inside
   * {@code run} (a Netty channel's socket is created when the channel object is constructed, i.e.
   * by {@code bind}/{@code connect} on the calling thread) belongs to this namespace even when its
   * I/O later runs on an event loop elsewhere.
   *
   * <p>Entering needs CAP_SYS_ADMIN. Closing stops the thread and closes the descriptor.
   */
  public static final class NetNamespace implements AutoCloseable {
    private final Path path;
    private final int fd;
    private final ExecutorService thread;
    private boolean entered; // only touched by the dedicated thread
    private volatile boolean closed;

    private NetNamespace(Path path, int fd) {
      this.path = path;
      this.fd = fd;
      String name = "netns-" + path.getFileName();
      this.thread = Executors.newSingleThreadExecutor(r -> Thread.ofPlatform().name(name).daemon(true).unstarted(r));
    }

    /** Opens the namespace at {@code nsPath} (O_RDONLY | O_CLOEXEC). */
    public static NetNamespace open(Path nsPath) throws IOException {
      return new NetNamespace(nsPath, LinuxSockets.open(nsPath, O_RDONLY | O_CLOEXEC));
    }

    /** The calling thread's own network namespace ({@code /proc/thread-self/ns/net}). */
    public static NetNamespace current() throws IOException {
      return open(Path.of("/proc/thread-self/ns/net"));
    }

    public Path path() {
      return path;
    }

    /** The open descriptor (owned by this object). */
    public int fd() {
      return fd;
    }

    /**
     * Runs {@code task} on this namespace's dedicated thread (entering the namespace first, once) and
     * returns its result; the task's own exception is rethrown as is. Calls are serialised.
     */
    public <T> T run(Callable<T> task) throws Exception {
      if (closed) {
        throw new IllegalStateException("network namespace " + path + " is closed");
      }
      Future<T> f = thread.submit(() -> {
        if (!entered) {
          setns(fd, CLONE_NEWNET);
          entered = true;
        }
        return task.call();
      });
      try {
        return f.get();
      } catch (ExecutionException e) {
        Throwable cause = e.getCause();
        if (cause instanceof Exception ex) {
          throw ex;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        throw e;
      } catch (InterruptedException e) {
        f.cancel(true);
        Thread.currentThread().interrupt();
        throw e;
      }
    }

    @Override
    public void close() throws IOException {
      if (closed) {
        return;
      }
      closed = true;
      thread.shutdownNow();
      LinuxSockets.close(fd);
    }

    @Override
    public String toString() {
      return "NetNamespace[" + path + ", fd " + fd + "]";
    }
  }
}
