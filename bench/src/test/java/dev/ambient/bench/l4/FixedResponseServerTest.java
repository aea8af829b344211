package dev.ambient.bench.l4;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class FixedResponseServerTest {
  /** request head (CRLF written as ~, a bare LF as |) -> body length to skip, close after the response. */
  @ParameterizedTest
  @CsvSource(delimiter = ';', value = {
      "GET / HTTP/1.1~Host: x~~;                                   0; false",
      "POST /p HTTP/1.1~Content-Length: 12~~;                      12; false",
      "GET / HTTP/1.1~Connection: close~~;                         0; true",
      "GET / HTTP/1.0~~;                                             0; true",
      "GET / HTTP/1.1|Content-length:  5|CONNECTION: keep-alive||;       5; false",
      "~GET / HTTP/1.1~~;                                          0; false",
  })
  void readsTheHead(String head, long length, boolean close) throws IOException {
    String text = head.strip().replace("~", "\r\n").replace("|", "\n");
    FixedResponseServer.RequestHead h = FixedResponseServer.RequestHead.read(in(text));
    assertThat(h).isEqualTo(new FixedResponseServer.RequestHead(length, close));
  }

  @Test
  void endOfStreamBetweenRequestsIsAQuietEndButInsideAHeadAnError() throws IOException {
    assertThat(FixedResponseServer.RequestHead.read(in(""))).isNull();
    assertThatThrownBy(() -> FixedResponseServer.RequestHead.read(in("GET / HTTP/1.1\r\nHost")))
        .isInstanceOf(IOException.class).hasMessageContaining("end of stream inside a request head");
    assertThatThrownBy(() -> FixedResponseServer.RequestHead.read(in("GET / HTTP/1.1\r\nX: " + "a".repeat(20000))))
        .isInstanceOf(IOException.class).hasMessageContaining("longer than");
  }

  @Test
  void twoPipelinedRequestsAreReadOneAfterTheOther() throws IOException {
    InputStream s = in("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\nConnection: close\r\n\r\n");
    assertThat(FixedResponseServer.RequestHead.read(s).close()).isFalse();
    assertThat(FixedResponseServer.RequestHead.read(s).close()).isTrue();
    assertThat(FixedResponseServer.RequestHead.read(s)).isNull();
  }

  @Test
  void theResponseCarriesExactlyTheBodySize() {
    String r = new String(FixedResponseServer.response(1024), StandardCharsets.US_ASCII);
    int split = r.indexOf("\r\n\r\n") + 4;
    assertThat(r).startsWith("HTTP/1.1 200 OK\r\n").contains("Content-Length: 1024\r\n");
    assertThat(r.length() - split).isEqualTo(1024);
  }

  private static InputStream in(String s) {
    return new ByteArrayInputStream(s.getBytes(StandardCharsets.US_ASCII));
  }
}
