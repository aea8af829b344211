package dev.ambient.lab;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Command-line mistakes are usage errors (exit 2, with the reason) before anything is touched, root or not. */
class LabMainTest {
  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', value = {
      "''                           | usage: ./ambient lab",
      "frobnicate                   | unknown lab command 'frobnicate'",
      "up --nodes x                 | --nodes wants a number",
      "up --nodes 0                 | --nodes must be 1..50",
      "up --nodes                   | --nodes needs a value",
      "up --subnet 254 --nodes 2    | --subnet must leave room",
      "up --bogus                   | unknown flag for lab up: --bogus",
      "pod add                      | lab pod add needs a pod NAME",
      "pod add web                  | lab pod add needs --node",
      "pod frob web --node node-0   | lab pod add|del|label, not 'frob'",
      "pod label web                | no label change given",
      "pod label web =v             | a label change is k=v or k-",
      "pod add web --node           | --node needs a value",
      "exec web ls                  | lab exec POD [--namespace NS] -- COMMAND...",
      "apply deny.yaml              | lab apply -f FILE",
      "delete deny.yaml             | lab delete -f FILE"})
  void usageErrors(String args, String message) {
    List<String> argv = args.isBlank() ? List.of() : List.of(args.strip().split("\\s+"));
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream saved = System.err;
    PrintStream savedOut = System.out;
    int code;
    try {
      System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
      System.setOut(new PrintStream(err, true, StandardCharsets.UTF_8));
      code = LabMain.run(argv);
    } finally {
      System.setErr(saved);
      System.setOut(savedOut);
    }
    assertThat(code).isEqualTo(2);
    assertThat(err.toString(StandardCharsets.UTF_8)).contains(message);
  }
}
