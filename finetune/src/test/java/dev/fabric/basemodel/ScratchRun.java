package dev.fabric.basemodel;
import dev.fabric.backend.cpu.CpuBackend;
import dev.fabric.model.Arch;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
class ScratchRun {
    @Test
    void run() throws Exception {
        int upd = Integer.getInteger("upd", 40);
        var spec = new BaseModelTrainer.Spec(Arch.QWEN3, 192, 4, 4, 2, 48, 512, 1024, 128, 20000, 1, upd, 8, 2e-3, 30);
        long t0 = System.nanoTime();
        try (CpuBackend be = new CpuBackend(2)) {
            BaseModelTrainer.train(spec, be, Path.of(System.getProperty("out", "/tmp/scratch/base.gguf")), r -> { if (r.step() % 10 == 0 || r.step() < 3) System.out.printf("step %d loss %.4f lr %.5f gn %.3f tok/s %.0f t=%.0f%n", r.step(), r.loss(), r.lr(), r.gradNorm(), r.tokensPerSecond(), (System.nanoTime()-t0)/1e9); });
        }
        System.out.printf("total %.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
