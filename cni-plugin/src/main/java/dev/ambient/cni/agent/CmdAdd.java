package dev.ambient.cni.agent;

import dev.ambient.cni.json.Json;
import dev.ambient.cni.json.JsonException;
import dev.ambient.cni.json.JsonNumber;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The body of the plugin's {@code POST /cmdadd} (spec §1.8), with Go's default PascalCase field
 * names: {@code Netns}, {@code PodName}, {@code PodNamespace}, {@code IPs}. Each IP's address is Go's
 * {@code net.IPNet} encoding: {@code {"IP":"198.18.0.5","Mask":"<base64 mask bytes>"}}.
 *
 * @param netns the CNI_NETNS path; empty when the agent must find the netns itself
 */
public record CmdAdd(String netns, String podName, String podNamespace, List<PodIp> ips) {
  public CmdAdd {
    ips = List.copyOf(ips);
  }

  /** One pod address with its prefix length, the CNI interface index and the gateway. */
  public record PodIp(@Nullable Integer iface, InetAddress address, int prefixLength, @Nullable InetAddress gateway) {
    public PodIp {
      int bits = address.getAddress().length * 8;
      if (prefixLength < 0 || prefixLength > bits) {
        throw new IllegalArgumentException("prefix length " + prefixLength + " out of range for " + address);
      }
    }
  }

  /**
   * Reads the {@code ips} array of a CNI 1.0/0.4/0.3 result ({@code {"address":"198.18.0.5/24",
   * "gateway":"198.18.0.1","interface":0}}).
   */
  public static List<PodIp> ipsFromResult(List<Object> ips) {
    List<PodIp> out = new ArrayList<>();
    for (Object o : ips) {
      if (!(o instanceof Map<?, ?>)) {
        throw new JsonException("prevResult.ips entries must be objects");
      }
      Map<String, Object> m = Json.asObject(o);
      String cidr = Json.string(m, "address");
      if (cidr == null) {
        throw new JsonException("prevResult.ips entry without 'address'");
      }
      int slash = cidr.indexOf('/');
      if (slash < 0) {
        throw new JsonException("prevResult.ips address '" + cidr + "' is not CIDR");
      }
      InetAddress addr = literal(cidr.substring(0, slash));
      int prefix;
      try {
        prefix = Integer.parseInt(cidr.substring(slash + 1));
      } catch (NumberFormatException e) {
        throw new JsonException("prevResult.ips address '" + cidr + "' has a bad prefix length");
      }
      String gw = Json.string(m, "gateway");
      Integer iface = m.get("interface") instanceof JsonNumber n ? (int) n.longValue() : null;
      try {
        out.add(new PodIp(iface, addr, prefix, gw == null || gw.isEmpty() ? null : literal(gw)));
      } catch (IllegalArgumentException e) {
        throw new JsonException(e.getMessage());
      }
    }
    return out;
  }

  /** An IP literal; never a DNS lookup. */
  static InetAddress literal(String ip) {
    boolean looksLikeIp = !ip.isEmpty() && (ip.indexOf(':') >= 0 || ip.chars().allMatch(c -> c == '.' || (c >= '0' && c <= '9')));
    if (!looksLikeIp) {
      throw new JsonException("'" + ip + "' is not an IP address");
    }
    try {
      return InetAddress.ofLiteral(ip);
    } catch (IllegalArgumentException e) {
      throw new JsonException("'" + ip + "' is not an IP address");
    }
  }

  public String toJson() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("Netns", netns);
    m.put("PodName", podName);
    m.put("PodNamespace", podNamespace);
    List<Object> l = new ArrayList<>();
    for (PodIp ip : ips) {
      Map<String, Object> e = new LinkedHashMap<>();
      e.put("Interface", ip.iface() == null ? Json.NULL : JsonNumber.of(ip.iface()));
      Map<String, Object> a = new LinkedHashMap<>();
      a.put("IP", ip.address().getHostAddress());
      a.put("Mask", Base64.getEncoder().encodeToString(mask(ip.address().getAddress().length, ip.prefixLength())));
      e.put("Address", a);
      e.put("Gateway", ip.gateway() == null ? "" : ip.gateway().getHostAddress());
      l.add(e);
    }
    m.put("IPs", l);
    return Json.write(m);
  }

  /** Parses a request body; a bad body is a {@link JsonException} with the reason. */
  public static CmdAdd fromJson(String body) {
    Map<String, Object> m = Json.parseObject(body);
    String podName = Json.string(m, "PodName");
    String podNamespace = Json.string(m, "PodNamespace");
    if (podName == null || podName.isEmpty() || podNamespace == null || podNamespace.isEmpty()) {
      throw new JsonException("PodName and PodNamespace are required");
    }
    String netns = Json.string(m, "Netns");
    List<PodIp> ips = new ArrayList<>();
    for (Object o : Json.list(m, "IPs")) {
      if (!(o instanceof Map<?, ?>)) {
        throw new JsonException("IPs entries must be objects");
      }
      Map<String, Object> e = Json.asObject(o);
      Map<String, Object> a = Json.object(e, "Address");
      String ip = a == null ? null : Json.string(a, "IP");
      String mask = a == null ? null : Json.string(a, "Mask");
      if (ip == null || mask == null) {
        throw new JsonException("IPs entry without Address.IP and Address.Mask");
      }
      byte[] maskBytes;
      try {
        maskBytes = Base64.getDecoder().decode(mask);
      } catch (IllegalArgumentException ex) {
        throw new JsonException("Address.Mask is not base64");
      }
      String gw = Json.string(e, "Gateway");
      Integer iface = e.get("Interface") instanceof JsonNumber n ? (int) n.longValue() : null;
      try {
        ips.add(new PodIp(iface, literal(ip), prefixLength(maskBytes), gw == null || gw.isEmpty() ? null : literal(gw)));
      } catch (IllegalArgumentException ex) {
        throw new JsonException(ex.getMessage());
      }
    }
    return new CmdAdd(netns == null ? "" : netns, podName, podNamespace, ips);
  }

  static byte[] mask(int bytes, int prefixLength) {
    byte[] m = new byte[bytes];
    for (int i = 0; i < prefixLength; i++) {
      m[i / 8] |= (byte) (0x80 >>> (i % 8));
    }
    return m;
  }

  static int prefixLength(byte[] mask) {
    int n = 0;
    boolean ended = false;
    for (byte b : mask) {
      for (int bit = 7; bit >= 0; bit--) {
        boolean set = ((b >> bit) & 1) == 1;
        if (set && ended) {
          throw new JsonException("Address.Mask is not a contiguous prefix");
        }
        if (set) {
          n++;
        } else {
          ended = true;
        }
      }
    }
    return n;
  }
}
