/**
 * The node agent's side of ZDS (spec istio-ambient.md §2.9, ztunnel.md §7): a SOCK_SEQPACKET server
 * that hands each enrolled pod's network namespace to ztunnel and waits for ztunnel's ack.
 */
@NullMarked
package dev.ambient.cni.agent.zds;

import org.jspecify.annotations.NullMarked;
