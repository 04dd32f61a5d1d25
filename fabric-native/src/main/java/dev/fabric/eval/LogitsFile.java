package dev.fabric.eval;

import dev.fabric.FabricException;
import dev.fabric.io.SafeOutput;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.Collection;
import java.nio.file.Path;

/**
 * The base-model log-probabilities that {@code fabric perplexity --kl-divergence-base} stores and
 * {@code --kl-divergence} compares against, in llama-perplexity's file layout and encoding, so that either tool
 * reads the other's files (and, the logits being the same, ours is byte for byte llama-perplexity's). All
 * little-endian:
 * <pre>
 *   8 bytes  "_logits_"
 *   int32    n_ctx
 *   int32    n_vocab
 *   int32    n_chunk
 *   int32    tokens[n_chunk * n_ctx]        the evaluated text (before the BOS substitution)
 *   per scored row (n_chunk * (n_ctx - 1 - n_ctx/2) rows, in order):
 *     float32 scale, float32 minLogProb    (4 uint16 slots)
 *     uint16  q[n_vocab] (+1 pad when n_vocab is odd)
 * </pre>
 * A row covers the 16 nats below its top logit in 65535 steps: with max and min the row's extreme logits,
 * min' = max(min, max - 16), lse = log of the sum of e^(l - max) (summed in double), minLogProb = min' - max -
 * lse and scale = (max - min') / 65535; q_j = round(( l_j - min') / scale) for l_j > min', else 0. The stored
 * log-probability of token j is {@code scale * q_j + minLogProb}; tokens more than 16 nats below the top read
 * as the floor.
 */
public final class LogitsFile {
    static final byte[] MAGIC = "_logits_".getBytes(StandardCharsets.US_ASCII);

    private LogitsFile() {}

    /** uint16 slots per row: two floats then the vocabulary, padded to an even count. */
    static int slots(int vocab) {
        return 4 + 2 * ((vocab + 1) / 2);
    }

    /**
     * Streams rows into a {@link SafeOutput} (a temporary file beside the target); {@link #commit} renames it into
     * place once every row is written, and {@link #close} without a commit deletes it, so a failed run leaves no
     * partial file. I/O errors come out as the exit-code-4 {@link FabricException} naming the target.
     */
    public static final class Writer implements AutoCloseable {
        private final SafeOutput file;
        private final OutputStream out;
        private final int vocab;
        private final ByteBuffer row;
        private boolean closed;

        /** Writes {@code path}, refusing it if it is one of {@code inputs} (the model, the text, the adapters). */
        public Writer(Path path, Collection<Path> inputs, int nCtx, int vocab, int chunks, int[] tokens) {
            this.vocab = vocab;
            file = SafeOutput.create(path, inputs);
            out = new BufferedOutputStream(file.stream(), 1 << 20);
            ByteBuffer h = ByteBuffer.allocate(20 + 4 * chunks * nCtx).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putInt(nCtx).putInt(vocab).putInt(chunks);
            for (int i = 0; i < chunks * nCtx; i++) h.putInt(tokens[i]);
            put(h.array());
            row = ByteBuffer.allocate(2 * slots(vocab)).order(ByteOrder.LITTLE_ENDIAN);
        }

        private void put(byte[] b) {
            try {
                out.write(b);
            } catch (IOException e) {
                closed = true;
                throw file.failure(e);
            }
        }

        public void write(float[] logits, int offset) {
            float max = logits[offset], min = logits[offset];
            for (int j = 1; j < vocab; j++) {
                max = Math.max(max, logits[offset + j]);
                min = Math.min(min, logits[offset + j]);
            }
            min = Math.max(min, max - 16);
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += expf(logits[offset + j] - max);
            float lse = (float) Math.log(sum);
            float minLogProb = min - max - lse;
            float scale = (max - min) / 65535f;
            row.clear();
            row.putFloat(scale).putFloat(minLogProb);
            float inv = scale != 0 ? 1 / scale : 0;
            for (int j = 0; j < vocab; j++) {
                float l = logits[offset + j];
                row.putShort((short) (scale != 0 && l > min ? (int) Math.rint(inv * (l - min)) : 0));
            }
            while (row.hasRemaining()) row.putShort((short) 0);
            put(row.array());
        }

        /** Finishes the file and moves it to its name. */
        public void commit() {
            try {
                out.flush();
            } catch (IOException e) {
                closed = true;
                throw file.failure(e);
            }
            closed = true;
            file.commit();
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            file.close();
        }
    }

    /** Reads the header, then rows one at a time. */
    public static final class Reader implements AutoCloseable {
        private final Path path;
        private final DataInputStream in;
        public final int nCtx, vocab, chunks;
        public final int[] tokens;
        private final byte[] raw;
        private final Row current;
        private long rowIndex;

        public Reader(Path path) throws IOException {
            this.path = path;
            if (Files.exists(path) && !Files.isRegularFile(path)) // a FIFO would block the open
                throw new FabricException(path + ": not a regular file (logits files are read from disk)");
            InputStream s = new BufferedInputStream(Files.newInputStream(path), 1 << 20);
            in = new DataInputStream(s);
            try {
                byte[] m = in.readNBytes(8);
                if (!java.util.Arrays.equals(m, MAGIC))
                    throw new FabricException(path + ": not a logits file (no '_logits_' magic at offset 0)");
                nCtx = int32();
                vocab = int32();
                chunks = int32();
                if (nCtx < 4 || vocab < 1 || chunks < 1 || (long) nCtx * chunks > Integer.MAX_VALUE / 4)
                    throw new FabricException(path + ": bad header: n_ctx " + nCtx + ", n_vocab " + vocab
                            + ", n_chunk " + chunks);
                // sizes from the header are checked against the file before anything is allocated from them
                long size = Files.size(path);
                if (20 + 4L * nCtx * chunks + 2L * (4 + 2 * ((vocab + 1L) / 2)) > size)
                    throw new FabricException(path + ": truncated or corrupt: its header (n_ctx " + nCtx + ", n_vocab " + vocab
                            + ", n_chunk " + chunks + ") needs more than its " + size + " bytes");
                tokens = new int[nCtx * chunks];
                for (int i = 0; i < tokens.length; i++) {
                    tokens[i] = int32();
                    if (tokens[i] < 0 || tokens[i] >= vocab)
                        throw new FabricException(path + ": token " + i + " is id " + tokens[i] + ", outside the vocabulary of "
                                + vocab);
                }
            } catch (EOFException e) {
                in.close();
                throw new FabricException(path + ": truncated header", e);
            }
            raw = new byte[2 * slots(vocab)];
            current = new Row(ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN));
        }

        private int int32() throws IOException {
            return Integer.reverseBytes(in.readInt());
        }

        /** The next row (valid until the following call). */
        public Row next() throws IOException {
            try {
                in.readFully(raw);
            } catch (EOFException e) {
                throw new FabricException(path + ": truncated at scored row " + rowIndex, e);
            }
            rowIndex++;
            return current;
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }

    /** One stored row: log p(j) = scale * q_j + minLogProb, in float (a product and a sum, each rounded). */
    public static final class Row {
        private final ByteBuffer b;

        Row(ByteBuffer b) {
            this.b = b;
        }

        public float logProb(int token) {
            return b.getFloat(0) * (b.getShort(8 + 2 * token) & 0xffff) + b.getFloat(4);
        }
    }

    /** e^x in float, as C's expf: the double exponential rounded once more (equal but for rare last-bit ties). */
    static float expf(float x) {
        return (float) Math.exp(x);
    }
}
