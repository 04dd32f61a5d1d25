/**
 * The backend interface: tensors ({@link dev.fabric.backend.Tensor}, row-major, last dimension contiguous) and
 * whole-tensor ops ({@link dev.fabric.backend.Op}: get_rows, matmul, rms_norm, rope, attention, softmax, swiglu,
 * add, mul, scale). {@code backend.cpu.CpuBackend} runs them with the native kernels of {@code fabric_ops.cpp} (one
 * {@code fabric_<family>.inc} per op family).
 */
package dev.fabric.backend;
