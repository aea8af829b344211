package dev.ambient.xds.client;

/** A service port and the endpoint port it maps to (0 = a named port, resolved per endpoint). */
public record Port(int servicePort, int targetPort) {
  public Port {
    if ((servicePort & ~0xFFFF) != 0 || (targetPort & ~0xFFFF) != 0) {
      throw new IllegalArgumentException("ports must be 0..65535: " + servicePort + "->" + targetPort);
    }
  }
}
