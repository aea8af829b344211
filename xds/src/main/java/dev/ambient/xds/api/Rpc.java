package dev.ambient.xds.api;

import dev.ambient.xds.api.ca.IstioCertificateRequest;
import dev.ambient.xds.api.ca.IstioCertificateResponse;
import dev.ambient.xds.api.discovery.DeltaDiscoveryRequest;
import dev.ambient.xds.api.discovery.DeltaDiscoveryResponse;
import io.grpc.MethodDescriptor;
import io.grpc.protobuf.ProtoUtils;

/**
 * The two gRPC methods we speak, with istiod's exact paths, and the xDS type URLs. Written by hand
 * instead of generated stubs: two methods do not justify a code generator binary in the build.
 */
public final class Rpc {
  private Rpc() {}

  /** Workloads and services ({@code istio.workload.Address}). */
  public static final String TYPE_ADDRESS = "type.googleapis.com/istio.workload.Address";
  /** L4 policies ({@code istio.security.Authorization}). */
  public static final String TYPE_AUTHORIZATION = "type.googleapis.com/istio.security.Authorization";

  /** {@code /envoy.service.discovery.v3.AggregatedDiscoveryService/DeltaAggregatedResources}, bidi. */
  public static final MethodDescriptor<DeltaDiscoveryRequest, DeltaDiscoveryResponse> DELTA_ADS =
      MethodDescriptor.<DeltaDiscoveryRequest, DeltaDiscoveryResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.BIDI_STREAMING)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(
              "envoy.service.discovery.v3.AggregatedDiscoveryService", "DeltaAggregatedResources"))
          .setRequestMarshaller(ProtoUtils.marshaller(DeltaDiscoveryRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(DeltaDiscoveryResponse.getDefaultInstance()))
          .build();

  /** {@code /istio.v1.auth.IstioCertificateService/CreateCertificate}, unary. */
  public static final MethodDescriptor<IstioCertificateRequest, IstioCertificateResponse> CREATE_CERTIFICATE =
      MethodDescriptor.<IstioCertificateRequest, IstioCertificateResponse>newBuilder()
          .setType(MethodDescriptor.MethodType.UNARY)
          .setFullMethodName(MethodDescriptor.generateFullMethodName(
              "istio.v1.auth.IstioCertificateService", "CreateCertificate"))
          .setRequestMarshaller(ProtoUtils.marshaller(IstioCertificateRequest.getDefaultInstance()))
          .setResponseMarshaller(ProtoUtils.marshaller(IstioCertificateResponse.getDefaultInstance()))
          .build();
}
