/**
 * Quantization presets (Q4_K_M …) and the per-tensor type rules of llama-quantize (shared/specs/quantization.md
 * section 4): {@link dev.fabric.quant.preset.Preset} names a preset, {@link dev.fabric.quant.preset.TypePlanner}
 * turns a model's tensor list into one {@link dev.fabric.quant.preset.TypeChoice} per tensor, in the order
 * llama-quantize writes them ({@link dev.fabric.quant.preset.WeightOrder}). Pure Java, no I/O.
 *
 * <p>Decisions: where llama.cpp versions disagree (Q2_K/Q3_K row-size fallback, fused attn_qkv), the rules follow
 * the build that produced shared/ref, so that parity can be checked. Rules the spec's summary leaves out but the
 * references show (IQ4_NL/IQ4_XS give the first eighth of ffn_down Q5_K when no imatrix is used) are included.
 * An explicit type that cannot hold a tensor's rows, or a row length with no fallback (Q8_0 on 172-wide rows), is
 * refused before anything is written, where llama-quantize fails mid-file.
 */
package dev.fabric.quant.preset;
