package dev.ambient.ztunnel.telemetry;

import static dev.ambient.ztunnel.telemetry.TelemetryFixtures.outboundHbone;

import dev.ambient.ztunnel.ZtunnelConfig.LogFormat;
import org.junit.jupiter.api.Test;

class IstioTelemetryTest {
  @Test
  void dump() {
    IstioMetrics m = new IstioMetrics("1.99.0");
    IstioTelemetry t = new IstioTelemetry(m, LogFormat.PLAIN);
    t.socketOpened(Reporter.SOURCE);
    t.opened(outboundHbone()).close(67, 490, ResponseFlag.CONNECT, "boom");
    System.out.println(m.scrape(null).body());
    System.out.println(m.scrape("application/openmetrics-text").body());
  }
}
