package dev.ambient.hbone;

import java.util.concurrent.CompletionStage;

/**
 * The application's side of {@link HboneServer}: called once per valid CONNECT stream (method and
 * authority already checked, peer authenticated). It may answer asynchronously; it is called on the
 * connection's event loop, so it must not block.
 */
@FunctionalInterface
public interface HboneHandler {
  CompletionStage<HboneDecision> onConnect(HboneRequest request);
}
