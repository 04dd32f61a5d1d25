package dev.fabric.backend;

/**
 * Which dimensions rotary embedding pairs: NORMAL pairs (2i, 2i+1) (llama, as llama.cpp's rope type 0); NEOX
 * pairs (i, i + n_rot/2) (qwen2, qwen3; llama.cpp's rope type 2).
 */
public enum RopeLayout {
    NORMAL,
    NEOX
}
