package dev.fabric.eval;

import dev.fabric.FabricException;
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
import java.nio.file.Path;

/**
 * The base-model log-probabilities that {@code fabric perplexity --kl-divergence-base} stores and
 * {@code --kl-divergence} compares against. The layout follows the scheme llama-perplexity uses for the same
 * purpose (our own description, written from what its file holds; byte compatibility with llama.cpp is not
 * verified), all little-endian:
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
 * where the row's log-probability of token j is {@code minLogProb + scale * q[j]}: the row's whole range of
 * log-probs in 65535 steps. (llama-perplexity clamps the range to 16 nats below the top; the clamped tail then
 * carries a KL error of ~1e-4 nats even for a model against itself, so we keep the whole range.)
 */
public final class LogitsFile {
    static final byte[] MAGIC = "_logits_".getBytes(StandardCharsets.US_ASCII);

    private LogitsFile() {}

    /** uint16 slots per row: two floats then the vocabulary, padded to an even count. */
    static int slots(int vocab) {
        return 4 + 2 * ((vocab + 1) / 2);
    }

    /** Streams rows out. */
    public static final class Writer implements AutoCloseable {
        private final OutputStream out;
        private final int vocab;
        private final ByteBuffer row;

        public Writer(Path path, int nCtx, int vocab, int chunks, int[] tokens) throws IOException {
            this.vocab = vocab;
            out = new BufferedOutputStream(Files.newOutputStream(path), 1 << 20);
            ByteBuffer h = ByteBuffer.allocate(20 + 4 * chunks * nCtx).order(ByteOrder.LITTLE_ENDIAN);
            h.put(MAGIC).putInt(nCtx).putInt(vocab).putInt(chunks);
            for (int i = 0; i < chunks * nCtx; i++) h.putInt(tokens[i]);
            out.write(h.array());
            row = ByteBuffer.allocate(2 * slots(vocab)).order(ByteOrder.LITTLE_ENDIAN);
        }

        public void write(float[] logits, int offset) throws IOException {
            float max = Float.NEGATIVE_INFINITY, min = Float.POSITIVE_INFINITY;
            for (int j = 0; j < vocab; j++) {
                max = Math.max(max, logits[offset + j]);
                min = Math.min(min, logits[offset + j]);
            }
            double sum = 0;
            for (int j = 0; j < vocab; j++) sum += Math.exp(logits[offset + j] - max);
            float minLogProb = (float) (min - max - Math.log(sum));
            float scale = (max - min) / 65535f;
            float inv = scale > 0 ? 1f / scale : 0f;
            row.clear();
            row.putFloat(scale).putFloat(minLogProb);
            for (int j = 0; j < vocab; j++) {
                float q = Math.max(0f, logits[offset + j] - min) * inv;
                row.putShort((short) Math.min(65535, Math.round(q)));
            }
            while (row.hasRemaining()) row.putShort((short) 0);
            out.write(row.array());
        }

        @Override
        public void close() throws IOException {
            out.close();
        }
    }

    /** Reads the header, then rows one at a time. */
    public static final class Reader implements AutoCloseable {
        private final Path path;
        private final DataInputStream in;
        public final int nCtx, vocab, chunks;
        public final int[] tokens;
        private final byte[] raw;
        private long rowIndex;

        public Reader(Path path) throws IOException {
            this.path = path;
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
                tokens = new int[nCtx * chunks];
                for (int i = 0; i < tokens.length; i++) tokens[i] = int32();
            } catch (EOFException e) {
                in.close();
                throw new FabricException(path + ": truncated header", e);
            }
            raw = new byte[2 * slots(vocab)];
        }

        private int int32() throws IOException {
            return Integer.reverseBytes(in.readInt());
        }

        /** The next row's log-probabilities into {@code logProbs[0..vocab)}. */
        public void next(float[] logProbs) throws IOException {
            try {
                in.readFully(raw);
            } catch (EOFException e) {
                throw new FabricException(path + ": truncated at scored row " + rowIndex, e);
            }
            rowIndex++;
            ByteBuffer b = ByteBuffer.wrap(raw).order(ByteOrder.LITTLE_ENDIAN);
            float scale = b.getFloat(), minLogProb = b.getFloat();
            for (int j = 0; j < vocab; j++) logProbs[j] = minLogProb + scale * (b.getShort() & 0xffff);
        }

        @Override
        public void close() throws IOException {
            in.close();
        }
    }
}
