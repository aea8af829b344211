package dev.ambient.cni.http;

import java.io.IOException;

/** A malformed or unsupported HTTP message, with the status a server should answer. */
public final class HttpException extends IOException {
  private final int status;

  public HttpException(int status, String message) {
    super(message);
    this.status = status;
  }

  public int status() {
    return status;
  }
}
