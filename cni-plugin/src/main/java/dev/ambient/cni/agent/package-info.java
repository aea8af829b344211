/**
 * The node agent: which pods are ambient ({@link dev.ambient.cni.agent.Enrollment}), the plugin's
 * {@code /cmdadd} server ({@link dev.ambient.cni.agent.PluginEventServer}) and the CNI config
 * installer ({@link dev.ambient.cni.agent.CniInstaller}). Kubernetes code lives in {@code .k8s}.
 */
@NullMarked
package dev.ambient.cni.agent;

import org.jspecify.annotations.NullMarked;
