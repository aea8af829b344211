package dev.ambient.ztunnel.proxy.inbound;

import dev.ambient.identity.SpiffeId;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The PROXY protocol v2 header ztunnel writes to a {@code PROXY} application tunnel (spec §4.8):
 * command {@code PROXY}, transport {@code STREAM}, the client and authority addresses, and the
 * client's SPIFFE id as TLV {@value #TLV_PEER_IDENTITY}. When the families differ, IPv4 addresses
 * are sent IPv4-mapped in an IPv6 header.
 */
final class ProxyProtocolV2 {
  static final byte[] SIGNATURE = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
  /** Version 2, command PROXY. */
  static final int VERSION_PROXY = 0x21;
  static final int TCP_OVER_IPV4 = 0x11;
  static final int TCP_OVER_IPV6 = 0x21;
  /** ztunnel's (Istio's) TLV type for the peer's identity. */
  static final int TLV_PEER_IDENTITY = 0xD0;

  private ProxyProtocolV2() {}

  /** The header bytes. */
  static byte[] encode(InetSocketAddress source, InetSocketAddress destination, Optional<SpiffeId> identity) {
    InetAddress src = address(source);
    InetAddress dst = address(destination);
    boolean v4 = src instanceof Inet4Address && dst instanceof Inet4Address;
    byte[] srcBytes = v4 ? src.getAddress() : ipv6(src);
    byte[] dstBytes = v4 ? dst.getAddress() : ipv6(dst);
    byte[] tlv = identity.map(id -> id.toString().getBytes(StandardCharsets.UTF_8)).orElse(null);
    int tlvLength = tlv == null ? 0 : 3 + tlv.length;
    int length = srcBytes.length + dstBytes.length + 4 + tlvLength;
    if (length > 0xFFFF) {
      throw new IllegalArgumentException("PROXY header too long: " + length + " bytes");
    }
    byte[] out = new byte[SIGNATURE.length + 4 + length];
    int i = 0;
    System.arraycopy(SIGNATURE, 0, out, i, SIGNATURE.length);
    i += SIGNATURE.length;
    out[i++] = (byte) VERSION_PROXY;
    out[i++] = (byte) (v4 ? TCP_OVER_IPV4 : TCP_OVER_IPV6);
    i = putShort(out, i, length);
    System.arraycopy(srcBytes, 0, out, i, srcBytes.length);
    i += srcBytes.length;
    System.arraycopy(dstBytes, 0, out, i, dstBytes.length);
    i += dstBytes.length;
    i = putShort(out, i, source.getPort());
    i = putShort(out, i, destination.getPort());
    if (tlv != null) {
      out[i++] = (byte) TLV_PEER_IDENTITY;
      i = putShort(out, i, tlv.length);
      System.arraycopy(tlv, 0, out, i, tlv.length);
    }
    return out;
  }

  /** The header in a new buffer from {@code alloc}. */
  static ByteBuf encode(
      ByteBufAllocator alloc, InetSocketAddress source, InetSocketAddress destination, Optional<SpiffeId> identity) {
    byte[] bytes = encode(source, destination, identity);
    return alloc.buffer(bytes.length).writeBytes(bytes);
  }

  private static InetAddress address(InetSocketAddress a) {
    InetAddress ip = a.getAddress();
    if (ip == null) {
      throw new IllegalArgumentException("PROXY header needs resolved addresses: " + a);
    }
    return ip;
  }

  private static byte[] ipv6(InetAddress a) {
    byte[] b = a.getAddress();
    if (b.length == 16) {
      return b;
    }
    byte[] mapped = new byte[16];
    mapped[10] = (byte) 0xFF;
    mapped[11] = (byte) 0xFF;
    System.arraycopy(b, 0, mapped, 12, 4);
    return mapped;
  }

  private static int putShort(byte[] out, int i, int value) {
    out[i] = (byte) (value >>> 8);
    out[i + 1] = (byte) value;
    return i + 2;
  }
}
