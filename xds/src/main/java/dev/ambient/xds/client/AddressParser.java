package dev.ambient.xds.client;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import dev.ambient.xds.api.workload.Address;

/** Decodes and converts an {@code istio.workload.Address} (type {@code TYPE_ADDRESS}). */
public final class AddressParser {
  private AddressParser() {}

  /** Decodes the wire bytes, then {@link #parse(Address)}. */
  public static AddressResource parse(ByteString bytes) throws InvalidProtocolBufferException, ResourceInvalidException {
    return parse(Address.parseFrom(bytes));
  }

  /** A workload or a service; an Address with neither is rejected. */
  public static AddressResource parse(Address address) throws ResourceInvalidException {
    return switch (address.getTypeCase()) {
      case WORKLOAD -> WorkloadParser.parse(address.getWorkload());
      case SERVICE -> ServiceParser.parse(address.getService());
      case TYPE_NOT_SET -> throw new ResourceInvalidException("address has neither workload nor service");
    };
  }
}
