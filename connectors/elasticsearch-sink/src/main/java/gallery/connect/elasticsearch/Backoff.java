package gallery.connect.elasticsearch;

import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with "equal jitter", capped. Pure apart from {@link #compute(int, long, long)}. */
public final class Backoff {

    private Backoff() {
    }

    /** {@link #compute(int, long, long, double)} with a random jitter. */
    public static long compute(int attempt, long initialMs, long maxMs) {
        return compute(attempt, initialMs, maxMs, ThreadLocalRandom.current().nextDouble());
    }

    /**
     * The wait before retry number {@code attempt} (1 for the first retry): with
     * {@code ceiling = min(maxMs, initialMs * 2^(attempt-1))}, a value in {@code [ceiling/2, ceiling]}
     * chosen by {@code random} in {@code [0, 1)}. Never overflows; never above {@code maxMs}.
     */
    public static long compute(int attempt, long initialMs, long maxMs, double random) {
        if (attempt < 1) {
            throw new IllegalArgumentException("attempt starts at 1");
        }
        if (initialMs <= 0 || maxMs <= 0) {
            return 0L;
        }
        long ceiling = initialMs;
        for (int i = 1; i < attempt && ceiling < maxMs; i++) {
            ceiling = ceiling > Long.MAX_VALUE / 2 ? Long.MAX_VALUE : ceiling * 2;
        }
        ceiling = Math.min(ceiling, maxMs);
        long floor = ceiling / 2;
        double r = Math.min(Math.max(random, 0.0), 1.0);
        long jitter = (long) Math.floor(r * (ceiling - floor + 1));
        return Math.min(ceiling, floor + jitter);
    }
}
