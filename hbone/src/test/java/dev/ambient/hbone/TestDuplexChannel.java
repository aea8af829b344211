package dev.ambient.hbone;

import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.DuplexChannel;

/**
 * An {@link EmbeddedChannel} that plays a TCP socket for {@link Relay}: it records output
 * shutdown and counts {@code read()} requests.
 */
final class TestDuplexChannel extends EmbeddedChannel implements DuplexChannel {
  private boolean inputShutdown;
  private boolean outputShutdown;
  int reads;

  TestDuplexChannel(ChannelHandler... handlers) {
    super(handlers);
    config().setAutoRead(false);
    pipeline().addFirst("read-counter", new ChannelOutboundHandlerAdapter() {
      @Override
      public void read(ChannelHandlerContext ctx) {
        reads++;
        ctx.read();
      }
    });
  }

  @Override
  public boolean isInputShutdown() {
    return inputShutdown;
  }

  @Override
  public ChannelFuture shutdownInput() {
    return shutdownInput(newPromise());
  }

  @Override
  public ChannelFuture shutdownInput(ChannelPromise promise) {
    inputShutdown = true;
    return promise.setSuccess();
  }

  @Override
  public boolean isOutputShutdown() {
    return outputShutdown;
  }

  @Override
  public ChannelFuture shutdownOutput() {
    return shutdownOutput(newPromise());
  }

  @Override
  public ChannelFuture shutdownOutput(ChannelPromise promise) {
    outputShutdown = true;
    return promise.setSuccess();
  }

  @Override
  public boolean isShutdown() {
    return inputShutdown && outputShutdown;
  }

  @Override
  public ChannelFuture shutdown() {
    return shutdown(newPromise());
  }

  @Override
  public ChannelFuture shutdown(ChannelPromise promise) {
    inputShutdown = outputShutdown = true;
    return promise.setSuccess();
  }
}
