package gallery.connect.elasticsearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class BackoffTest {

    @Test
    void firstRetryIsBetweenHalfAndAllOfTheInitialBackoff() {
        assertEquals(100, Backoff.compute(1, 200, 10_000, 0.0));
        assertEquals(200, Backoff.compute(1, 200, 10_000, 0.999999));
    }

    @Test
    void doublesPerAttempt() {
        assertEquals(200, Backoff.compute(2, 200, 10_000, 0.0));
        assertEquals(400, Backoff.compute(2, 200, 10_000, 0.999999));
        assertEquals(1600, Backoff.compute(5, 200, 10_000, 0.0));
        assertEquals(3200, Backoff.compute(5, 200, 10_000, 0.999999));
    }

    @Test
    void isCappedAndNeverOverflows() {
        assertEquals(5_000, Backoff.compute(7, 200, 10_000, 0.0));
        assertEquals(10_000, Backoff.compute(7, 200, 10_000, 0.999999));
        assertEquals(10_000, Backoff.compute(1_000, 200, 10_000, 0.999999));
        assertEquals(Long.MAX_VALUE, Backoff.compute(200, Long.MAX_VALUE / 3, Long.MAX_VALUE, 1.0));
        assertEquals(10_000, Backoff.compute(3, 20_000, 10_000, 1.0));
    }

    @Test
    void randomJitterStaysInRange() {
        for (int attempt = 1; attempt <= 12; attempt++) {
            long ceiling = Math.min(10_000, 200L << (attempt - 1));
            for (int i = 0; i < 200; i++) {
                long v = Backoff.compute(attempt, 200, 10_000);
                assertTrue(v >= ceiling / 2 && v <= ceiling, "attempt " + attempt + " gave " + v);
            }
        }
    }

    @Test
    void zeroBackoffMeansNoWait() {
        assertEquals(0, Backoff.compute(3, 0, 10_000, 0.5));
        assertThrows(IllegalArgumentException.class, () -> Backoff.compute(0, 200, 10_000, 0.5));
    }
}
