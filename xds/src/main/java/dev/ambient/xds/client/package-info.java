/**
 * Delta ADS client for istiod's workload API: validated domain records (no protobuf), their
 * parsers, and {@link dev.ambient.xds.client.XdsClient}. See docs/xds-client.md.
 */
@NullMarked
package dev.ambient.xds.client;

import org.jspecify.annotations.NullMarked;
