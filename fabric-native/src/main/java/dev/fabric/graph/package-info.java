/**
 * The training engine: models as graphs of coarse ops ({@link dev.fabric.graph.Graph}, built for the llama family
 * by {@link dev.fabric.graph.DecoderGraph}), reverse-mode autodiff with one backward rule per op
 * ({@link dev.fabric.graph.Autodiff}, optional per-layer recomputation), buffer planning by liveness
 * ({@link dev.fabric.graph.MemoryPlan}), an executor over any {@link dev.fabric.backend.Backend}, and the session
 * a trainer drives ({@link dev.fabric.graph.TrainingSession}: parameters, micro-batches, accumulated gradients).
 *
 * <p>An op is found in four places under one name: its {@link dev.fabric.graph.OpKind}, its rule in
 * {@code Autodiff.rule}, its Backend method and kernel ({@code fabric_train_<op>_backward} in
 * {@code fabric_<family>.inc} beside the forward kernel, built into the training library by
 * {@code fabric_train.cpp}) and its test ({@code GradOpsTest}).
 */
package dev.fabric.graph;
