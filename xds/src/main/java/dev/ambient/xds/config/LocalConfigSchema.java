package dev.ambient.xds.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/**
 * The shape of ztunnel's {@code LocalConfig} YAML (spec §3.1), as Jackson binds it. Every record rejects unknown
 * fields (the mapper's default); absent fields are {@code null} and mean "not set".
 */
final class LocalConfigSchema {
  private LocalConfigSchema() {}

  record Document(
      @Nullable List<WorkloadYaml> workloads,
      @Nullable List<ServiceYaml> services,
      @Nullable List<PolicyYaml> policies) {}

  record WorkloadYaml(
      @Nullable String uid,
      @Nullable String name,
      @Nullable String namespace,
      @Nullable String serviceAccount,
      @Nullable String trustDomain,
      @Nullable String network,
      @Nullable String node,
      @Nullable String hostname,
      @Nullable List<YamlValues.Ip> workloadIps,
      @Nullable Protocol protocol,
      @Nullable NetworkMode networkMode,
      @Nullable Gateway waypoint,
      @Nullable Gateway networkGateway,
      @Nullable AppTunnel applicationTunnel,
      @Nullable String workloadName,
      @Nullable WorkloadType workloadType,
      @Nullable String canonicalName,
      @Nullable String canonicalRevision,
      @Nullable String clusterId,
      @Nullable Boolean nativeTunnel,
      @Nullable List<String> authorizationPolicies,
      @Nullable Status status,
      @Nullable LocalityYaml locality,
      @Nullable Integer capacity,
      @Nullable Map<String, Map<Integer, Integer>> services,
      /* Our extension: used for Istio selectors, never sent to ztunnel. */
      @Nullable Map<String, String> labels) {}

  record Gateway(YamlValues.Destination destination, @Nullable Integer hboneMtlsPort) {
    Gateway {
      required(destination, "destination");
    }
  }

  record WeightedGateway(YamlValues.Destination destination, @Nullable Integer weight) {
    WeightedGateway {
      required(destination, "destination");
    }
  }

  record AppTunnel(@Nullable TunnelProtocol protocol, @Nullable Integer port) {}

  record LocalityYaml(@Nullable String region, @Nullable String zone, @Nullable String subzone) {}

  record ServiceYaml(
      @Nullable String name,
      @Nullable String namespace,
      @Nullable String hostname,
      @Nullable List<YamlValues.NetworkIp> vips,
      @Nullable List<CidrVip> cidrVips,
      @Nullable Map<Integer, Integer> ports,
      @Nullable List<String> subjectAltNames,
      @Nullable Gateway waypoint,
      @Nullable List<WeightedGateway> weightedWaypoints,
      @Nullable LoadBalancer loadBalancer,
      @Nullable IpFamilies ipFamilies,
      @Nullable Boolean canonical,
      @Nullable Visibility visibility,
      /* Accepted and ignored: ztunnel derives endpoints from the workloads' services maps. */
      @Nullable JsonNode endpoints) {}

  record CidrVip(@Nullable String network, YamlValues.Cidr cidr) {
    CidrVip {
      required(cidr, "cidr");
    }
  }

  record LoadBalancer(@Nullable List<RoutingPreference> routingPreferences, @Nullable LbMode mode, @Nullable HealthPolicy healthPolicy) {}

  record PolicyYaml(
      @Nullable String name,
      @Nullable String namespace,
      @Nullable Scope scope,
      @Nullable Action action,
      @Nullable List<List<List<MatchYaml>>> rules,
      @Nullable Boolean dryRun) {}

  record MatchYaml(
      @Nullable List<YamlValues.Match> namespaces,
      @Nullable List<YamlValues.Match> notNamespaces,
      @Nullable List<YamlValues.Match> principals,
      @Nullable List<YamlValues.Match> notPrincipals,
      @Nullable List<ServiceAccountYaml> serviceAccounts,
      @Nullable List<ServiceAccountYaml> notServiceAccounts,
      @Nullable List<YamlValues.Cidr> sourceIps,
      @Nullable List<YamlValues.Cidr> notSourceIps,
      @Nullable List<YamlValues.Cidr> destinationIps,
      @Nullable List<YamlValues.Cidr> notDestinationIps,
      @Nullable List<Integer> destinationPorts,
      @Nullable List<Integer> notDestinationPorts) {}

  record ServiceAccountYaml(String namespace, String serviceAccount) {
    ServiceAccountYaml {
      required(namespace, "namespace");
      required(serviceAccount, "serviceAccount");
    }
  }

  /** Fails binding (Jackson reports it at the object) when a required field is absent. */
  static void required(@Nullable Object value, String field) {
    if (value == null) {
      throw new IllegalArgumentException("'" + field + "' is required");
    }
  }

  enum Protocol { @JsonProperty("HBONE") HBONE, @JsonProperty("TCP") TCP }

  enum NetworkMode { @JsonProperty("Standard") STANDARD, @JsonProperty("HostNetwork") HOST_NETWORK }

  enum TunnelProtocol { @JsonProperty("NONE") NONE, @JsonProperty("PROXY") PROXY }

  enum WorkloadType {
    @JsonProperty("Deployment") DEPLOYMENT, @JsonProperty("CronJob") CRONJOB, @JsonProperty("Pod") POD, @JsonProperty("Job") JOB
  }

  enum Status { @JsonProperty("Healthy") HEALTHY, @JsonProperty("Unhealthy") UNHEALTHY }

  enum RoutingPreference {
    @JsonProperty("Region") REGION, @JsonProperty("Zone") ZONE, @JsonProperty("Subzone") SUBZONE,
    @JsonProperty("Node") NODE, @JsonProperty("Cluster") CLUSTER, @JsonProperty("Network") NETWORK
  }

  enum LbMode {
    @JsonProperty("Standard") STANDARD, @JsonProperty("Strict") STRICT, @JsonProperty("Failover") FAILOVER,
    @JsonProperty("Passthrough") PASSTHROUGH
  }

  enum HealthPolicy { @JsonProperty("OnlyHealthy") ONLY_HEALTHY, @JsonProperty("AllowAll") ALLOW_ALL }

  enum IpFamilies { @JsonProperty("Automatic") AUTOMATIC, @JsonProperty("IPv4") IPV4, @JsonProperty("IPv6") IPV6, @JsonProperty("Dual") DUAL }

  enum Visibility { @JsonProperty("Public") PUBLIC, @JsonProperty("Namespace") NAMESPACE }

  enum Scope { @JsonProperty("Global") GLOBAL, @JsonProperty("Namespace") NAMESPACE, @JsonProperty("WorkloadSelector") WORKLOAD_SELECTOR }

  enum Action { @JsonProperty("Allow") ALLOW, @JsonProperty("Deny") DENY }
}
