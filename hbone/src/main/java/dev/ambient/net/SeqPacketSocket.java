package dev.ambient.net;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An {@code AF_UNIX} / {@code SOCK_SEQPACKET} socket made with FFM: the ZDS transport between the CNI
 * node agent (server) and ztunnel (client), spec istio-ambient.md §2.9 and ztunnel.md §7.1.
 *
 * <p>One {@link #send} is one packet; one {@link #receive} returns one whole packet, so message
 * boundaries are the kernel's. A packet may carry one file descriptor as {@code SCM_RIGHTS}
 * ancillary data; received descriptors are opened with {@code MSG_CMSG_CLOEXEC} and belong to the
 * caller. A packet longer than the receive buffer ({@code MSG_TRUNC}), truncated ancillary data
 * ({@code MSG_CTRUNC}) or more than one descriptor is an {@link IOException} (any descriptors that
 * did arrive are closed first). Zero-length packets cannot be told apart from end of stream, so
 * {@link #send} refuses them and {@link #receive} reports a zero-length read as EOF.
 *
 * <p>All calls block, bounded by {@link #setTimeouts} ({@code SO_RCVTIMEO} / {@code SO_SNDTIMEO},
 * which Linux also applies to {@code accept}); a timeout is a {@link SocketTimeoutException}.
 * {@link #close} may be called from any thread: it shuts the socket down, which wakes a thread
 * blocked in {@code accept}/{@code recvmsg}, waits for it to leave, then closes the descriptor, so
 * a descriptor number is never reused under a running call. Linux x86_64 only.
 */
public final class SeqPacketSocket implements AutoCloseable {
  // <sys/socket.h>, <sys/un.h>
  static final int AF_UNIX = 1;
  static final int SOCK_SEQPACKET = 5;
  static final int SOCK_CLOEXEC = 0x80000;
  static final int SOL_SOCKET = 1;
  static final int SO_RCVTIMEO = 20;
  static final int SO_SNDTIMEO = 21;
  static final int SCM_RIGHTS = 1;
  static final int MSG_CTRUNC = 0x8;
  static final int MSG_TRUNC = 0x20;
  static final int MSG_NOSIGNAL = 0x4000;
  static final int MSG_CMSG_CLOEXEC = 0x40000000;
  static final int SHUT_RDWR = 2;
  static final int EAGAIN = 11;
  static final int EINTR = 4;
  static final int EINVAL = 22;
  /** sizeof(struct sockaddr_un): sa_family_t + char sun_path[108]. */
  static final int SOCKADDR_UN_SIZE = 110;
  static final int SUN_PATH_MAX = 107;
  // struct msghdr (x86_64): name@0, namelen@8, iov@16, iovlen@24, control@32, controllen@40, flags@48
  static final int MSGHDR_SIZE = 56;
  // struct cmsghdr: size_t len@0, int level@8, int type@12, data@16; CMSG_ALIGN is 8
  static final int CMSG_HEADER = 16;
  /** Room for this many descriptors in the receive control buffer, so extras can be seen and closed. */
  static final int MAX_RECEIVED_FDS = 8;

  private static final Linker LINKER = Linker.nativeLinker();
  private static final StructLayout CAPTURE = Linker.Option.captureStateLayout();
  private static final VarHandle ERRNO =
      CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

  private static final MethodHandle SOCKET = call("socket",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
  private static final MethodHandle BIND = call("bind",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle LISTEN = call("listen",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
  // int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
  private static final MethodHandle ACCEPT4 = call("accept4",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
  private static final MethodHandle CONNECT = call("connect",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  // ssize_t sendmsg(int fd, const struct msghdr *msg, int flags), recvmsg likewise
  private static final MethodHandle SENDMSG = call("sendmsg",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle RECVMSG = call("recvmsg",
      FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle SETSOCKOPT = call("setsockopt",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
  private static final MethodHandle SHUTDOWN = call("shutdown",
      FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

  private final int fd;
  private final String description;
  private final ReentrantReadWriteLock inUse = new ReentrantReadWriteLock();
  private volatile boolean closed;

  private SeqPacketSocket(int fd, String description) {
    this.fd = fd;
    this.description = description;
  }

  private static MethodHandle call(String name, FunctionDescriptor fd) {
    MemorySegment symbol = LINKER.defaultLookup().find(name)
        .orElseThrow(() -> new UnsatisfiedLinkError("libc has no " + name));
    return LINKER.downcallHandle(symbol, fd, Linker.Option.captureCallState("errno"));
  }

  /** One received packet: its bytes and the descriptor it carried, if any (owned by the caller). */
  public record Packet(byte[] data, OptionalInt fd) {}

  /**
   * Binds a listening socket at {@code path}, replacing a stale socket file left there by a previous
   * run (a non-socket file at that path is an error, never deleted).
   */
  public static SeqPacketSocket listen(Path path, int backlog) throws IOException {
    if (Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
      if (!"socket".equals(fileType(path))) {
        throw new IOException("listen(" + path + "): exists and is not a socket");
      }
      Files.delete(path);
    }
    int fd = newSocket();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment addr = sockaddr(arena, path);
      MemorySegment state = arena.allocate(CAPTURE);
      if ((int) BIND.invokeExact(state, fd, addr, SOCKADDR_UN_SIZE) != 0) {
        throw LinuxSockets.failure("bind(" + path + ")", errno(state));
      }
      if ((int) LISTEN.invokeExact(state, fd, backlog) != 0) {
        throw LinuxSockets.failure("listen(" + path + ")", errno(state));
      }
      return new SeqPacketSocket(fd, "listener " + path);
    } catch (Throwable t) {
      closeQuietly(fd);
      throw rethrow(t);
    }
  }

  /** Connects to the listener at {@code path}. */
  public static SeqPacketSocket connect(Path path) throws IOException {
    int fd = newSocket();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment addr = sockaddr(arena, path);
      MemorySegment state = arena.allocate(CAPTURE);
      int rc;
      do {
        rc = (int) CONNECT.invokeExact(state, fd, addr, SOCKADDR_UN_SIZE);
      } while (rc != 0 && errno(state) == EINTR);
      if (rc != 0) {
        throw LinuxSockets.failure("connect(" + path + ")", errno(state));
      }
      return new SeqPacketSocket(fd, "connection to " + path);
    } catch (Throwable t) {
      closeQuietly(fd);
      throw rethrow(t);
    }
  }

  /**
   * Accepts one connection; blocks until one arrives, the receive timeout passes
   * ({@link SocketTimeoutException}) or the socket is closed (an {@link IOException}).
   */
  public SeqPacketSocket accept() throws IOException {
    var lock = enter();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CAPTURE);
      while (true) {
        int c = (int) ACCEPT4.invokeExact(state, fd, MemorySegment.NULL, MemorySegment.NULL, SOCK_CLOEXEC);
        if (c >= 0) {
          return new SeqPacketSocket(c, "accepted from " + description);
        }
        int errno = errno(state);
        if (errno == EINTR) {
          continue;
        }
        if (closed) {
          throw new IOException(description + " is closed");
        }
        if (errno == EAGAIN) {
          throw new SocketTimeoutException("accept on " + description + " timed out");
        }
        throw LinuxSockets.failure("accept(" + description + ")", errno);
      }
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      lock.unlock();
    }
  }

  /** Sets {@code SO_RCVTIMEO} and {@code SO_SNDTIMEO}; {@link Duration#ZERO} means wait forever. */
  public void setTimeouts(Duration receive, Duration send) throws IOException {
    var lock = enter();
    try {
      setTimeval(SO_RCVTIMEO, receive);
      setTimeval(SO_SNDTIMEO, send);
    } finally {
      lock.unlock();
    }
  }

  private void setTimeval(int option, Duration d) throws IOException {
    if (d.isNegative()) {
      throw new IllegalArgumentException("negative timeout " + d);
    }
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment tv = arena.allocate(16, 8);
      // A positive timeout below 1 us must not become 0 (= forever).
      long micros = d.isZero() ? 0 : Math.max(1, d.toNanos() / 1000);
      tv.set(JAVA_LONG, 0, micros / 1_000_000);
      tv.set(JAVA_LONG, 8, micros % 1_000_000);
      MemorySegment state = arena.allocate(CAPTURE);
      if ((int) SETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, option, tv, 16) != 0) {
        throw LinuxSockets.failure("setsockopt(" + fd + ", SOL_SOCKET, "
            + (option == SO_RCVTIMEO ? "SO_RCVTIMEO" : "SO_SNDTIMEO") + ")", errno(state));
      }
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  /**
   * Sends {@code message} as one packet, with {@code passFd} as {@code SCM_RIGHTS} when it is
   * present (the caller keeps its own copy of the descriptor). Never raises SIGPIPE.
   */
  public void send(byte[] message, OptionalInt passFd) throws IOException {
    if (message.length == 0) {
      throw new IllegalArgumentException("a zero-length packet would read as end of stream");
    }
    var lock = enter();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = arena.allocateFrom(JAVA_BYTE, message);
      MemorySegment iov = arena.allocate(16, 8);
      iov.set(ADDRESS, 0, data);
      iov.set(JAVA_LONG, 8, message.length);
      MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
      msg.set(ADDRESS, 16, iov);
      msg.set(JAVA_LONG, 24, 1);
      if (passFd.isPresent()) {
        MemorySegment control = arena.allocate(CMSG_HEADER + 8, 8);
        control.set(JAVA_LONG, 0, CMSG_HEADER + 4); // CMSG_LEN(sizeof(int))
        control.set(JAVA_INT, 8, SOL_SOCKET);
        control.set(JAVA_INT, 12, SCM_RIGHTS);
        control.set(JAVA_INT, CMSG_HEADER, passFd.getAsInt());
        msg.set(ADDRESS, 32, control);
        msg.set(JAVA_LONG, 40, control.byteSize()); // CMSG_SPACE(sizeof(int))
      }
      MemorySegment state = arena.allocate(CAPTURE);
      long n;
      do {
        n = (long) SENDMSG.invokeExact(state, fd, msg, MSG_NOSIGNAL);
      } while (n < 0 && errno(state) == EINTR);
      if (n < 0) {
        int errno = errno(state);
        if (errno == EAGAIN) {
          throw new SocketTimeoutException("send on " + description + " timed out");
        }
        throw LinuxSockets.failure("sendmsg(" + description + ")", errno);
      }
      if (n != message.length) {
        throw new IOException("sendmsg(" + description + ") sent " + n + " of " + message.length + " bytes");
      }
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      lock.unlock();
    }
  }

  /**
   * Receives one packet of at most {@code maxSize} bytes. Empty at end of stream (the peer closed,
   * or this socket was closed by another thread).
   *
   * @throws SocketTimeoutException when the receive timeout passes
   * @throws IOException when the packet or its ancillary data was truncated, or it carried more than
   *     one descriptor
   */
  public Optional<Packet> receive(int maxSize) throws IOException {
    var lock = enter();
    List<Integer> fds = new ArrayList<>();
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment data = arena.allocate(maxSize, 8);
      MemorySegment iov = arena.allocate(16, 8);
      iov.set(ADDRESS, 0, data);
      iov.set(JAVA_LONG, 8, maxSize);
      long controlSize = CMSG_HEADER + 4L * MAX_RECEIVED_FDS;
      MemorySegment control = arena.allocate(controlSize, 8);
      MemorySegment msg = arena.allocate(MSGHDR_SIZE, 8);
      MemorySegment state = arena.allocate(CAPTURE);
      long n;
      while (true) {
        msg.fill((byte) 0);
        msg.set(ADDRESS, 16, iov);
        msg.set(JAVA_LONG, 24, 1);
        msg.set(ADDRESS, 32, control);
        msg.set(JAVA_LONG, 40, controlSize);
        n = (long) RECVMSG.invokeExact(state, fd, msg, MSG_CMSG_CLOEXEC);
        if (n >= 0 || errno(state) != EINTR) {
          break;
        }
      }
      if (n < 0) {
        int errno = errno(state);
        if (closed) {
          return Optional.empty();
        }
        if (errno == EAGAIN) {
          throw new SocketTimeoutException("receive on " + description + " timed out");
        }
        throw LinuxSockets.failure("recvmsg(" + description + ")", errno);
      }
      collectFds(control, msg.get(JAVA_LONG, 40), fds);
      int flags = msg.get(JAVA_INT, 48);
      if ((flags & MSG_TRUNC) != 0) {
        throw new IOException("recvmsg(" + description + "): packet longer than " + maxSize + " bytes (MSG_TRUNC)");
      }
      if ((flags & MSG_CTRUNC) != 0) {
        throw new IOException("recvmsg(" + description + "): ancillary data truncated (MSG_CTRUNC)");
      }
      if (fds.size() > 1) {
        throw new IOException("recvmsg(" + description + "): " + fds.size() + " descriptors in one packet, expected at most 1");
      }
      if (n == 0) {
        return Optional.empty();
      }
      OptionalInt fd = fds.isEmpty() ? OptionalInt.empty() : OptionalInt.of(fds.getFirst());
      fds.clear(); // handed to the caller
      return Optional.of(new Packet(data.asSlice(0, n).toArray(JAVA_BYTE), fd));
    } catch (Throwable t) {
      throw rethrow(t);
    } finally {
      for (int extra : fds) {
        closeQuietly(extra);
      }
      lock.unlock();
    }
  }

  /** Walks the cmsghdr list (CMSG_FIRSTHDR / CMSG_NXTHDR) and collects every SCM_RIGHTS descriptor. */
  private static void collectFds(MemorySegment control, long controlLen, List<Integer> into) {
    long off = 0;
    while (off + CMSG_HEADER <= controlLen) {
      long len = control.get(JAVA_LONG, off);
      if (len < CMSG_HEADER || off + len > controlLen) {
        break;
      }
      if (control.get(JAVA_INT, off + 8) == SOL_SOCKET && control.get(JAVA_INT, off + 12) == SCM_RIGHTS) {
        for (long p = off + CMSG_HEADER; p + 4 <= off + len; p += 4) {
          into.add(control.get(JAVA_INT, p));
        }
      }
      off += (len + 7) & ~7L;
    }
  }

  /** The descriptor (for diagnostics and tests). */
  public int fd() {
    return fd;
  }

  @Override
  public void close() throws IOException {
    if (closed) {
      return;
    }
    closed = true;
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CAPTURE);
      int ignored = (int) SHUTDOWN.invokeExact(state, fd, SHUT_RDWR); // wakes blocked accept/recvmsg
    } catch (Throwable t) {
      throw rethrow(t);
    }
    inUse.writeLock().lock(); // waits until blocked calls have returned
    try {
      LinuxSockets.close(fd);
    } finally {
      inUse.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "SeqPacketSocket[" + description + ", fd " + fd + "]";
  }

  private ReentrantReadWriteLock.ReadLock enter() throws IOException {
    ReentrantReadWriteLock.ReadLock lock = inUse.readLock();
    lock.lock();
    if (closed) {
      lock.unlock();
      throw new IOException(description + " is closed");
    }
    return lock;
  }

  /** Opens {@code path} (e.g. {@code /var/run/netns/NAME}, {@code /proc/PID/ns/net}) O_RDONLY|O_CLOEXEC. */
  public static int openReadOnly(Path path) throws IOException {
    return LinuxSockets.open(path, LinuxSockets.O_RDONLY | LinuxSockets.O_CLOEXEC);
  }

  /** Closes a descriptor (e.g. one received with a packet). */
  public static void closeFd(int fd) throws IOException {
    LinuxSockets.close(fd);
  }

  private static void closeQuietly(int fd) {
    try {
      LinuxSockets.close(fd);
    } catch (IOException | RuntimeException ignored) {
      // nothing more to do with a descriptor we are discarding
    }
  }

  private static int newSocket() throws IOException {
    try (Arena arena = Arena.ofConfined()) {
      MemorySegment state = arena.allocate(CAPTURE);
      int fd = (int) SOCKET.invokeExact(state, AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
      if (fd < 0) {
        throw LinuxSockets.failure("socket(AF_UNIX, SOCK_SEQPACKET)", errno(state));
      }
      return fd;
    } catch (Throwable t) {
      throw rethrow(t);
    }
  }

  private static MemorySegment sockaddr(Arena arena, Path path) throws IOException {
    byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
    if (name.length == 0 || name.length > SUN_PATH_MAX) {
      throw new IOException("unix socket path must be 1.." + SUN_PATH_MAX + " bytes: " + path);
    }
    MemorySegment sa = arena.allocate(SOCKADDR_UN_SIZE, 2);
    sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
    MemorySegment.copy(name, 0, sa, JAVA_BYTE, 2, name.length);
    return sa;
  }

  private static String fileType(Path path) throws IOException {
    Object mode = Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
    return (((Integer) mode) & 0170000) == 0140000 ? "socket" : "other";
  }

  private static int errno(MemorySegment state) {
    return (int) ERRNO.get(state, 0L);
  }

  private static IOException rethrow(Throwable t) {
    if (t instanceof IOException e) {
      return e;
    }
    if (t instanceof RuntimeException e) {
      throw e;
    }
    if (t instanceof Error e) {
      throw e;
    }
    throw new IllegalStateException(t);
  }
}
