package dev.fabric.tune;

import dev.fabric.graph.Executor;
import dev.fabric.graph.Param;
import dev.fabric.graph.TrainingSession;
import dev.fabric.train.LossSum;
import dev.fabric.train.StepModel;
import dev.fabric.train.TrainableParams;
import java.nio.FloatBuffer;
import java.util.List;

/**
 * The engine's {@link TrainingSession} as the training loop sees it: micro-batches in, loss sums out, the
 * trainable tensors (LoRA pairs, or every weight) as direct buffers the optimizer updates in place.
 */
public final class GraphStepModel implements StepModel<TrainingSession.Batch> {
    private final TrainingSession session;
    private final Params params;

    public GraphStepModel(TrainingSession session) {
        this.session = session;
        this.params = new Params(session.trainable());
    }

    @Override
    public LossSum forwardBackward(TrainingSession.Batch batch, long seed) {
        session.step(seed); // the dropout masks of this micro-batch follow the trainer's checkpointed draws
        Executor.Result r = session.forwardBackward(batch);
        return new LossSum(r.lossSum(), r.targets());
    }

    @Override
    public TrainableParams params() {
        return params;
    }

    public TrainingSession session() {
        return session;
    }

    private record Params(List<Param> list) implements TrainableParams {
        @Override
        public int size() {
            return list.size();
        }

        @Override
        public String name(int i) {
            return list.get(i).name();
        }

        @Override
        public long[] shape(int i) {
            return list.get(i).shape();
        }

        @Override
        public FloatBuffer value(int i) {
            return list.get(i).values();
        }

        @Override
        public FloatBuffer grad(int i) {
            return list.get(i).grads();
        }

        /** Norm weights and biases (1-D) are not decayed, as Hugging Face's Trainer does; matrices are. */
        @Override
        public boolean decays(int i) {
            return list.get(i).shape().length > 1;
        }
    }
}
