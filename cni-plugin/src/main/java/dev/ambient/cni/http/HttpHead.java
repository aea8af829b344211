package dev.ambient.cni.http;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The start line and headers of an HTTP/1.1 message (header names lower-cased), and the reading of
 * its Content-Length body. Bounded: a head over {@code maxHeadBytes} or a body over {@code maxBody}
 * is an {@link HttpException}, never an unbounded allocation.
 */
public record HttpHead(String startLine, Map<String, String> headers) {
  public HttpHead {
    headers = Map.copyOf(headers);
  }

  public @Nullable String header(String name) {
    return headers.get(name.toLowerCase(Locale.ROOT));
  }

  /** Reads up to and including the blank line. Returns null on a clean EOF before any byte. */
  public static @Nullable HttpHead read(InputStream in, int maxHeadBytes) throws IOException {
    ByteArrayOutputStream buf = new ByteArrayOutputStream(256);
    int last4 = 0;
    while (last4 != 0x0D0A0D0A) {
      int b = in.read();
      if (b < 0) {
        if (buf.size() == 0) {
          return null;
        }
        throw new EOFException("connection closed inside the HTTP head");
      }
      buf.write(b);
      if (buf.size() > maxHeadBytes) {
        throw new HttpException(431, "HTTP head longer than " + maxHeadBytes + " bytes");
      }
      last4 = (last4 << 8) | b;
    }
    String text = buf.toString(StandardCharsets.ISO_8859_1);
    String[] lines = text.substring(0, text.length() - 4).split("\r\n", -1);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon <= 0) {
        throw new HttpException(400, "malformed header line");
      }
      headers.put(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim());
    }
    return new HttpHead(lines[0], headers);
  }

  /**
   * Reads the body: Content-Length bytes, or (when {@code untilEof}, for responses) everything up to
   * EOF. Chunked bodies are refused.
   */
  public byte[] readBody(InputStream in, int maxBody, boolean untilEof) throws IOException {
    String te = header("transfer-encoding");
    if (te != null && !te.equalsIgnoreCase("identity")) {
      throw new HttpException(501, "transfer-encoding " + te + " is not supported");
    }
    String cl = header("content-length");
    if (cl == null) {
      return untilEof ? readCapped(in, maxBody) : new byte[0];
    }
    long len;
    try {
      len = Long.parseLong(cl);
    } catch (NumberFormatException e) {
      throw new HttpException(400, "bad Content-Length '" + cl + "'");
    }
    if (len < 0 || len > maxBody) {
      throw new HttpException(413, "body of " + len + " bytes exceeds " + maxBody);
    }
    byte[] body = in.readNBytes((int) len);
    if (body.length != len) {
      throw new EOFException("connection closed after " + body.length + " of " + len + " body bytes");
    }
    return body;
  }

  private static byte[] readCapped(InputStream in, int max) throws IOException {
    byte[] b = in.readNBytes(max + 1);
    if (b.length > max) {
      throw new HttpException(413, "body exceeds " + max + " bytes");
    }
    return b;
  }
}
