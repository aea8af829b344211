package dev.ambient.cni.agent.zds;

import java.io.IOException;

/** A ZDS request that did not succeed: no ztunnel connected, a NACK, a timeout or a lost connection. */
public final class ZdsException extends IOException {
  private static final long serialVersionUID = 1L;

  public ZdsException(String message) {
    super(message);
  }

  public ZdsException(String message, Throwable cause) {
    super(message, cause);
  }
}
