/**
 * Inbound L4 authorization (spec §6): the policy index, the pure {@link
 * dev.ambient.ztunnel.authz.Authorizer} and the registry that re-evaluates live connections.
 */
@NullMarked
package dev.ambient.ztunnel.authz;

import org.jspecify.annotations.NullMarked;
