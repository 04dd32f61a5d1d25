/**
 * Importance matrices (shared/specs/quantization.md section 5): {@link dev.fabric.imatrix.ImatrixReader} reads
 * llama-imatrix's GGUF format and its legacy {@code .dat} into the per-column weights llama-quantize derives from
 * them ({@link dev.fabric.imatrix.Imatrix}), with the --include-weights / --exclude-weights filters.
 */
package dev.fabric.imatrix;
