package dev.ambient.cni.json;

/** Malformed JSON, or JSON of the wrong shape; the message says where and why. */
public final class JsonException extends RuntimeException {
  public JsonException(String message) {
    super(message);
  }
}
