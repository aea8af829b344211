package dev.ambient.ztunnel.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import dev.ambient.xds.client.XdsUpdate;
import dev.ambient.ztunnel.authz.Authorizer;
import dev.ambient.ztunnel.authz.LiveConnections;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class StateFeedTest {
  private final List<LiveConnections.Revoked> revoked = new ArrayList<>();
  private final StateFeed feed = new StateFeed(new LiveConnections(Authorizer.create(), revoked::add));

  @Test
  void firstUpdatePublishesStateAndPolicies() throws Exception {
    assertThat(feed.firstUpdate()).isNotDone();
    feed.onUpdate(LocalXdsLoader.parse("test", LocalXdsLoaderTest.CONFIG));
    assertThat(feed.firstUpdate()).isCompleted();
    assertThat(feed.state().current().workloadCount()).isEqualTo(1);
    assertThat(feed.state().current().serviceCount()).isEqualTo(1);
    assertThat(feed.policies().get("default/deny-9999")).isPresent();
    assertThat(feed.policySupplier().get()).isSameAs(feed.policies());
  }

  @Test
  void addressOnlyUpdateKeepsThePolicyIndex() throws Exception {
    feed.onUpdate(LocalXdsLoader.parse("test", LocalXdsLoaderTest.CONFIG));
    var before = feed.policies();
    feed.onUpdate(new XdsUpdate(Map.of(), Set.of("default/example.com"), Map.of(), Set.of()));
    assertThat(feed.policies()).isSameAs(before);
    assertThat(feed.state().current().serviceCount()).isZero();
  }

  @Test
  void removedPolicyLeavesTheIndex() throws Exception {
    feed.onUpdate(LocalXdsLoader.parse("test", LocalXdsLoaderTest.CONFIG));
    feed.onUpdate(new XdsUpdate(Map.of(), Set.of(), Map.of(), Set.of("default/deny-9999")));
    assertThat(feed.policies().get("default/deny-9999")).isEmpty();
    assertThat(feed.policies().size()).isZero();
  }
}
