/**
 * The GGUF container (ggml docs/gguf.md; /work/shared/specs/quantization.md section 1): {@link
 * dev.fabric.gguf.GgufFile} reads v2/v3 files, validating everything a hostile file could fake before it allocates
 * or maps, and hands out tensor data zero-copy from a native read-only mapping ({@link
 * dev.fabric.backend.cpu.MmapNative}, no 2 GiB limit); {@link dev.fabric.gguf.GgufWriter} streams v3 files in the
 * layout llama.cpp requires and renames them into place only when complete.
 *
 * <p>Decisions where llama.cpp's reader and ours differ, and why:
 * <ul>
 *   <li>Tensor names of 64+ bytes: llama.cpp refuses them; we read them with a warning (so such files can be
 *       inspected and converted) and refuse to write them.
 *   <li>Data layout: llama.cpp demands offsets equal to the running sum of padded sizes; we accept any aligned,
 *       in-file, non-overlapping layout ({@link dev.fabric.gguf.GgufFile#isPacked()} tells which). Our writer always
 *       emits the packed layout.
 *   <li>Nested arrays: llama.cpp refuses them; we read them up to 8 levels deep and write them back.
 *   <li>BOOL bytes other than 0/1 are rejected (they could not round-trip).
 *   <li>Strings that are not valid UTF-8 are read with U+FFFD and a warning; such a file cannot round-trip byte
 *       for byte.
 *   <li>Metadata whose Java objects would exceed a heap budget (a quarter of -Xmx, at least 64 MiB) is refused, so
 *       millions of tiny strings cannot exhaust the heap.
 * </ul>
 *
 * <p>Limits: a mapped file that another process truncates while it is open makes reads of the lost pages fault
 * (SIGBUS), as with any memory-mapped reader; views must not be used after {@link dev.fabric.gguf.GgufFile#close()}.
 */
package dev.fabric.gguf;
