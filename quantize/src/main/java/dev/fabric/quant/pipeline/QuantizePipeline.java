package dev.fabric.quant.pipeline;

import dev.fabric.FabricException;
import dev.fabric.backend.cpu.MmapNative;
import dev.fabric.gguf.GgmlType;
import dev.fabric.gguf.GgufFile;
import dev.fabric.gguf.GgufMetadata;
import dev.fabric.gguf.GgufTensorInfo;
import dev.fabric.gguf.GgufValue;
import dev.fabric.gguf.GgufWriter;
import dev.fabric.gguf.TensorData;
import dev.fabric.gguf.TensorSpec;
import dev.fabric.imatrix.Imatrix;
import dev.fabric.imatrix.ImatrixReader;
import dev.fabric.io.SafeOutput;
import dev.fabric.quant.preset.ModelShape;
import dev.fabric.quant.preset.Preset;
import dev.fabric.quant.preset.TypeChoice;
import dev.fabric.quant.preset.TypeOptions;
import dev.fabric.quant.preset.TypePlanner;
import dev.fabric.quant.preset.WeightInfo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * {@code fabric quantize}: reads a GGUF model tensor by tensor from its memory map, converts each to the type the
 * preset's rules choose, and streams the result to a new GGUF laid out as llama-quantize writes it (spec section
 * 1): the input's metadata in order without the split keys, then {@code general.quantization_version} and
 * {@code general.file_type}, then the imatrix keys; tensors in {@link dev.fabric.quant.preset.WeightOrder}.
 *
 * <p>Everything that can be checked is checked before writing (types, shapes, imatrix sizes). The output goes to
 * a temporary file in the target's folder that is renamed into place only when complete; on any failure (a full
 * disk included) or interruption it is deleted, so OUT is either the whole result or untouched.
 */
public final class QuantizePipeline {
    /** llama.cpp's GGML_QNT_VERSION, written as {@code general.quantization_version}. */
    public static final int QUANTIZATION_VERSION = 2;
    /** Bit llama.cpp sets on a file type it guessed from the tensor types (LLAMA_FTYPE_GUESSED). */
    static final int FTYPE_GUESSED = 1024;
    private static final int MAX_OVERRIDE_BYTES = 127;

    /** Test hook: called before each tensor is written, with the bytes written so far. */
    interface WriteHook {
        void beforeWrite(int index, long written, long bytes) throws IOException;
    }

    private QuantizePipeline() {}

    /** Runs the whole conversion; returns the per-type summary. */
    public static QuantizeResult run(QuantizeRequest req, QuantizeListener listener) {
        return run(req, listener, (i, w, b) -> {});
    }

    static QuantizeResult run(QuantizeRequest req, QuantizeListener listener, WriteHook hook) {
        long t0 = System.nanoTime();
        checkPaths(req);
        try (GgufFile in = open(req.input())) {
            QuantizePlan plan = plan(in, req);
            listener.planned(plan);
            long size = write(in, plan, listener, hook);
            double secs = (System.nanoTime() - t0) / 1e9;
            QuantizeResult r = QuantizeResult.of(req.output(), plan.fileType(), plan.choices(), size, secs,
                    req.effectiveThreads());
            listener.finished(r);
            return r;
        } catch (IOException e) {
            throw new FabricException("cannot read " + req.input() + ": " + e.getMessage(), FabricException.EXIT_IO, e);
        }
    }

    /**
     * For {@code fabric bench quantize}: runs {@code req} into a temporary file in {@code scratchDir} (its output
     * path is ignored), deletes the file, and returns the timing and sizes.
     */
    public static QuantizeResult bench(QuantizeRequest req, Path scratchDir) {
        // a scratch name in SafeOutput's temporary pattern: removed on Ctrl-C, and by the next run if killed
        Path out = SafeOutput.scratchPath(scratchDir.resolve("fabric-bench.gguf"));
        try {
            return run(req.withOutput(out), QuantizeListener.NONE);
        } finally {
            SafeOutput.deleteScratch(out);
        }
    }

    /** Decides everything without writing: for a dry run, and as the first step of {@link #run}. */
    public static QuantizePlan plan(QuantizeRequest req) {
        try (GgufFile in = open(req.input())) {
            return plan(in, req);
        } catch (IOException e) {
            throw new FabricException("cannot read " + req.input() + ": " + e.getMessage(), FabricException.EXIT_IO, e);
        }
    }

    private static GgufFile open(Path p) throws IOException {
        try {
            return GgufFile.open(p);
        } catch (NoSuchFileException e) {
            throw new FabricException("input model " + p + " does not exist", FabricException.EXIT_INPUT, e);
        }
    }

    static QuantizePlan plan(GgufFile in, QuantizeRequest req) {
        GgufMetadata md = in.metadata();
        if (md.getLong("split.count", 1) > 1)
            throw new FabricException(req.input() + " is shard " + (md.getLong("split.no", 0) + 1) + " of a model split"
                    + " into " + md.getLong("split.count") + " files; merge it first (llama-gguf-split --merge)");
        List<String> warnings = new ArrayList<>();
        Imatrix im = loadImatrix(req);
        if (im != null) checkImatrixMatches(im, in, req, warnings);
        List<WeightInfo> weights = new ArrayList<>();
        for (GgufTensorInfo t : in.tensors()) weights.add(new WeightInfo(t.name(), t.shape(), t.type()));
        Preset p = req.preset();
        ModelShape shape = p.hasMixture() ? ModelShape.of(md) : new ModelShape("", 0, 0, 0, false, false);
        TypeOptions opt = new TypeOptions(p, req.outputTensorType(), req.tokenEmbeddingType(),
                req.leaveOutputTensor(), req.pure(), im != null);
        for (GgufTensorInfo t : in.tensors())
            if (t.elements() == 0)
                throw new FabricException(req.input() + ": tensor '" + t.name() + "' has no elements (shape "
                        + Arrays.toString(t.shape()) + "); a model's tensors cannot be empty");
        List<TypeChoice> choices;
        try {
            choices = TypePlanner.plan(shape, weights, opt);
        } catch (FabricException e) {
            throw new FabricException(req.input() + ": " + e.getMessage(), e.exitCode(), e);
        }

        Map<String, float[]> weightsFor = new HashMap<>();
        for (TypeChoice c : choices) {
            if (c.fallbackFrom() != null)
                warnings.add(c.name() + ": rows of " + c.input().ne(0) + " are not a multiple of "
                        + c.fallbackFrom().blockSize() + ", using fallback type " + c.type() + " instead of "
                        + c.fallbackFrom());
            if (!c.converts()) continue;
            checkConvertible(c, req);
            if (im != null) {
                float[] w = imatrixFor(c, im, warnings);
                if (w != null) weightsFor.put(c.name(), w);
            }
        }
        int fileType = p == Preset.COPY ? copyFileType(md, choices) : p.fileType();
        GgufMetadata out = outputMetadata(md, fileType, im, req);
        int alignment = (int) in.alignment();
        List<TensorSpec> specs = choices.stream()
                .map(c -> new TensorSpec(c.name(), trimmedShape(c.input()), c.type())).toList();
        return new QuantizePlan(req, choices, specs, out, alignment, fileType, im, weightsFor, warnings);
    }

    private static Imatrix loadImatrix(QuantizeRequest req) {
        if (req.imatrix() == null) {
            if (!req.includeWeights().isEmpty() || !req.excludeWeights().isEmpty())
                throw new FabricException("--include-weights/--exclude-weights need --imatrix",
                        FabricException.EXIT_USAGE, null);
            return null;
        }
        Imatrix im = ImatrixReader.read(req.imatrix()).filter(req.includeWeights(), req.excludeWeights());
        im.requireFinite();
        // llama-quantize treats an imatrix left empty by the filters as no imatrix at all
        return im.size() == 0 ? null : im;
    }

    /**
     * An imatrix none of whose entries names a tensor of the model was made for another model: an error (llama-quantize
     * would only warn per tensor and quantize without it). Entries that match nothing are counted in a warning.
     */
    private static void checkImatrixMatches(Imatrix im, GgufFile in, QuantizeRequest req, List<String> warnings) {
        List<String> unmatched = new ArrayList<>();
        for (String name : im.entries().keySet()) if (in.tensor(name) == null) unmatched.add(name);
        if (unmatched.size() == im.size())
            throw new FabricException("imatrix " + im.source() + ": none of its " + im.size() + " entries (e.g. '"
                    + unmatched.get(0) + "') names a tensor of " + req.input() + ": it was computed for another model");
        if (!unmatched.isEmpty())
            warnings.add("imatrix " + im.source() + ": " + unmatched.size() + " of its " + im.size()
                    + " entries name no tensor of " + req.input() + " (e.g. '" + unmatched.get(0) + "'); they are ignored");
    }

    private static void checkConvertible(TypeChoice c, QuantizeRequest req) {
        GgmlType from = c.input().type();
        if (!TensorConverter.canWrite(c.type()))
            throw new FabricException("tensor '" + c.name() + "': fabric quantize cannot write type " + c.type(),
                    FabricException.EXIT_USAGE, null);
        if (!TensorConverter.canRead(from))
            throw new FabricException("tensor '" + c.name() + "' in " + req.input() + " has type " + from
                    + ", which fabric quantize cannot convert (inputs can be F32, F16, BF16, or with "
                    + "--allow-requantize one of " + kernelTypes() + ")");
        if (from.isQuantized() && !req.allowRequantize())
            throw new FabricException("tensor '" + c.name() + "' in " + req.input() + " is already quantized ("
                    + from + "); requantizing to " + c.type() + " loses quality. Start from an F16/BF16/F32 model, "
                    + "or pass --allow-requantize to dequantize and requantize it anyway", FabricException.EXIT_INPUT,
                    null);
    }

    private static String kernelTypes() {
        return Arrays.stream(GgmlType.values()).filter(TensorConverter::isKernelType).map(Enum::name)
                .collect(Collectors.joining(", "));
    }

    /**
     * The imatrix weights for a tensor (spec 5.4): none is a warning (the tensor takes the reference path); a
     * size other than ne0 * ne2 is an error, except for token_embd, which is only warned about.
     */
    private static float[] imatrixFor(TypeChoice c, Imatrix im, List<String> warnings) {
        float[] w = im.get(c.name());
        if (w == null) {
            warnings.add("did not find imatrix weights for " + c.name() + "; it is quantized without them");
            return null;
        }
        long expect = c.input().ne(0) * c.input().ne(2);
        if (w.length == expect) return w;
        String what = "imatrix " + im.source() + " has " + w.length + " weights for " + c.name()
                + ", which has " + expect + " columns";
        if (c.name().equals("token_embd.weight")) {
            warnings.add(what + "; quantizing it without them");
            return null;
        }
        throw new FabricException(what + ": the imatrix was computed for a different model");
    }

    /** Input metadata in order, minus split keys; then the two keys set last; then the imatrix overrides. */
    static GgufMetadata outputMetadata(GgufMetadata in, int fileType, Imatrix im, QuantizeRequest req) {
        GgufMetadata.Builder b = in.toBuilder();
        b.putU32("general.quantization_version", QUANTIZATION_VERSION);
        b.putU32("general.file_type", fileType);
        for (String k : List.of("split.no", "split.count", "split.tensors.count")) b.remove(k);
        if (im != null) {
            b.putString("quantize.imatrix.file", truncate(req.imatrixArg()));
            if (!im.datasets().isEmpty()) b.putString("quantize.imatrix.dataset", truncate(im.datasets().get(0)));
            b.putU32("quantize.imatrix.entries_count", im.size());
            if (im.chunkCount() > 0) b.putU32("quantize.imatrix.chunks_count", im.chunkCount());
        }
        return b.build();
    }

    /** KV-override strings hold at most 127 bytes; cut there, but not inside a UTF-8 character. */
    static String truncate(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        if (b.length <= MAX_OVERRIDE_BYTES) return s;
        int n = MAX_OVERRIDE_BYTES;
        while (n > 0 && (b[n] & 0xC0) == 0x80) n--;
        return new String(b, 0, n, StandardCharsets.UTF_8);
    }

    /**
     * COPY writes the input's own {@code general.file_type}, or guesses one from the most common tensor type (with
     * the GUESSED bit), as llama.cpp's model loader does.
     */
    static int copyFileType(GgufMetadata md, List<TypeChoice> choices) {
        GgufValue v = md.get("general.file_type");
        if (v != null) return (int) v.asLong();
        Map<GgmlType, Integer> n = new LinkedHashMap<>();
        GgmlType best = GgmlType.F32;
        int bestN = 0;
        for (TypeChoice c : choices) {
            int k = n.merge(c.input().type(), 1, Integer::sum);
            if (k > bestN) {
                bestN = k;
                best = c.input().type();
            }
        }
        int ft = switch (best) {
            case F16 -> 1;
            case BF16 -> 32;
            case Q4_0 -> 2;
            case Q4_1 -> 3;
            case Q5_0 -> 8;
            case Q5_1 -> 9;
            case Q8_0 -> 7;
            case Q2_K -> 10;
            case Q3_K -> 12;
            case Q4_K -> 15;
            case Q5_K -> 17;
            case Q6_K -> 18;
            case IQ4_NL -> 25;
            case IQ4_XS -> 30;
            default -> 0;
        };
        return ft | FTYPE_GUESSED;
    }

    /** ggml writes n_dims = one past the last dimension above 1, so trailing 1s are dropped. */
    private static long[] trimmedShape(WeightInfo w) {
        return Arrays.copyOf(w.shape(), w.effectiveDims());
    }

    /** The output rules of {@link SafeOutput}, checked before any work: not an input, not a link, a folder, a device. */
    private static void checkPaths(QuantizeRequest req) {
        SafeOutput.check(req.output(), inputs(req));
    }

    private static List<Path> inputs(QuantizeRequest req) {
        return req.imatrix() == null ? List.of(req.input()) : List.of(req.input(), req.imatrix());
    }

    /** Writes the output; returns its size in bytes. */
    private static long write(GgufFile in, QuantizePlan plan, QuantizeListener listener, WriteHook hook) {
        Path out = plan.request().output();
        // SafeOutput deletes the temporary on any failure and on Ctrl-C / SIGTERM (its shutdown hook)
        GgufWriter w;
        try {
            w = GgufWriter.create(out, inputs(plan.request()), plan.outputMetadata(), plan.specs(), plan.alignment());
        } catch (IOException e) {
            throw ioFailure(out, e);
        }
        // Tensor i is written (and reported) on a writer thread while tensor i+1 is converted into the other
        // output buffer; at most one write is in flight, so tensors reach the file in order.
        ExecutorService io = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "fabric-quantize-writer");
            t.setDaemon(true);
            return t;
        });
        try (w; TensorConverter conv = new TensorConverter(plan.request().effectiveThreads())) {
            in.advise(MmapNative.MADV_SEQUENTIAL);
            long written = 0;
            Future<?> pending = null;
            List<TypeChoice> choices = plan.choices();
            for (int i = 0; i < choices.size(); i++) {
                TypeChoice c = choices.get(i);
                TensorData src = in.data(c.name());
                long outBytes = c.outputBytes();
                long addr = c.converts() ? conv.convert(src.address(), c, plan.weightsFor().get(c.name()), i % 2) : 0;
                await(pending);
                final int index = i;
                final long before = written;
                pending = io.submit(() -> {
                    hook.beforeWrite(index, before, outBytes);
                    if (c.converts()) w.writeTensor(index, addr, outBytes);
                    else w.writeTensor(index, src);
                    listener.tensorDone(index, c, src.byteSize(), outBytes);
                    if (src.byteSize() > 0) TensorConverter.release(src.address(), src.byteSize());
                    return null;
                });
                written += outBytes;
            }
            await(pending);
            w.finish();
            return Files.size(out);
        } catch (IOException e) {
            throw w.failure(e);
        } finally {
            io.shutdownNow();
        }
    }

    /** Waits for a write; rethrows what it threw. */
    private static void await(Future<?> f) throws IOException {
        if (f == null) return;
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    f.get();
                    return;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            Throwable t = e.getCause();
            if (t instanceof IOException io) throw io;
            if (t instanceof RuntimeException re) throw re;
            if (t instanceof Error err) throw err;
            throw new IllegalStateException(t);
        } finally {
            if (interrupted) Thread.currentThread().interrupt();
        }
    }

    private static FabricException ioFailure(Path out, IOException e) {
        String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        return new FabricException("cannot write " + out + ": " + why + " (nothing was left at " + out + ")",
                FabricException.EXIT_IO, e);
    }
}
