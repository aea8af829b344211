package dev.ambient.ztunnel.admin;

import java.util.concurrent.CompletionStage;

/**
 * Maps a request to a reply. Called on an event loop: it must not block; slow work (waiting for a
 * shutdown) completes the returned stage later, from any thread.
 */
@FunctionalInterface
interface Router {
  CompletionStage<Reply> route(Request request);
}
