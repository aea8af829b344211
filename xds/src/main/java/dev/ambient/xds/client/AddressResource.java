package dev.ambient.xds.client;

/** A decoded {@code istio.workload.Address}: exactly one of a workload or a service. */
public sealed interface AddressResource permits Workload, Service {
  /** The key istiod names the resource by: the workload uid, or {@code namespace/hostname}. */
  String key();
}
