package dev.ambient.cni.plugin;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

/** The {@code istio-cni} executable's entry point: stdin and environment in, result on stdout. */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws IOException {
    String stdin = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
    CniPlugin.Outcome out = CniPlugin.forProcess().run(stdin);
    PrintStream stdout = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false, StandardCharsets.UTF_8);
    stdout.print(out.stdout());
    stdout.flush();
    System.exit(out.exitCode());
  }
}
