package dev.ambient.ztunnel;

import static java.util.Objects.requireNonNull;

import java.util.List;
import java.util.stream.Collectors;

/**
 * The environment does not describe a valid ztunnel: startup must abort (spec §3.3). Every problem
 * found is reported, not just the first, so one restart fixes them all.
 */
public final class ZtunnelConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * One rejected setting.
   *
   * @param variable the environment variable (or, for a rule spanning several, their names joined by {@code +})
   * @param value the value as given ({@code <unset>} when the rule is about a missing variable)
   * @param reason why it is rejected
   */
  public record Problem(String variable, String value, String reason) {
    public Problem {
      requireNonNull(variable, "variable");
      requireNonNull(value, "value");
      requireNonNull(reason, "reason");
    }

    @Override
    public String toString() {
      return variable + "=\"" + value + "\": " + reason;
    }
  }

  private final List<Problem> problems;

  ZtunnelConfigException(List<Problem> problems) {
    super(message(problems));
    this.problems = List.copyOf(problems);
  }

  /** Every problem, in the order the variables were checked. */
  public List<Problem> problems() {
    return problems;
  }

  private static String message(List<Problem> problems) {
    return "invalid ztunnel configuration (" + problems.size() + (problems.size() == 1 ? " problem" : " problems")
        + "): " + problems.stream().map(Problem::toString).collect(Collectors.joining("; "));
  }
}
