package dev.fabric.testing;

import dev.fabric.backend.cpu.CpuBackend;

/**
 * How closely our forward pass can match shared/ref, which llama.cpp (build 57d4c984) made on an x86 CPU with
 * AVX-512. Where our kernels run the AVX-512 variant they follow that build's arithmetic (summation orders, FMA
 * contractions, F16 roundings), so comparisons are exact. Other variants ({@code FABRIC_CPU_VARIANT=avx2},
 * {@code generic}, NEON; the build runs the parity tests under avx2 too) sum in other, equally valid orders, as
 * llama.cpp's own builds for those CPUs do. Their bounds follow from where that difference grows:
 *
 * <ul>
 *   <li>Per op, every variant errs by about one F32 ulp of the sum of magnitudes (measured over the matmul shapes
 *       of these models: worst 0.4-2.6 eps * sum|x w| for generic, AVX2 and AVX-512 alike; K-quant matmuls are
 *       integer sums and give the same floats in the AVX2 and AVX-512 variants).
 *   <li>The models round through F16 (KV cache, the flash-attention V sums rounded after every update, F16
 *       weights' inputs): a 1-ulp F32 difference flips some of those roundings, each moving one value by one F16
 *       ulp, {@link #F16_ULP} = 2^-11 relative. The flips then travel through the remaining layers like any
 *       perturbation of that size; they neither cancel exactly nor compound beyond a few F16 ulps in these
 *       models (measured: attention outputs of two variants differ by up to 3e-4 absolute on unit data).
 * </ul>
 *
 * So a quantity averaged over many tokens (a perplexity, an imatrix sum) differs between two valid variants by a
 * fraction of an F16 ulp typically and a few F16 ulps at worst; measured against the AVX-512 reference (both
 * generic and AVX2 forced on an AVX-512 host): imatrix sums median 4.6e-5, worst 1.4e-3 (2.9 F16 ulps, in the
 * last layer's ffn_down input of llama-spm-256x8); log perplexity 2.2e-4 relative at worst (the first 32-token
 * chunk of stories260K). A real kernel bug (a wrong rope pair, eps, scale or nibble order) moves these by 1e-2 or
 * more, and moves the typical (median) imatrix entry as much as the worst.
 */
public final class RefParity {
    private RefParity() {}

    /** One F16 ulp, relative: 2^-11. */
    public static final double F16_ULP = 0x1p-11;

    /** Relative bound on log(perplexity) against the reference where not {@link #exact()}: one F16 ulp. */
    public static final double LOG_PPL = F16_ULP;

    /** Worst relative difference of an imatrix sum of squares where not exact: 8 F16 ulps (3.9e-3). */
    public static final double IMATRIX_WORST = 8 * F16_ULP;

    /** Median relative difference of the imatrix sums where not exact: a quarter F16 ulp (1.2e-4). */
    public static final double IMATRIX_MEDIAN = F16_ULP / 4;

    /** Whether the kernels in use follow the arithmetic of the llama.cpp build that made shared/ref. */
    public static boolean exact() {
        return "avx512".equals(CpuBackend.kernelVariant());
    }
}
