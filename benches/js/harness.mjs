// A small benchmark harness that runs the same way in Node and in a browser:
// competitors of one case run in alternating rounds in one process, so their
// ratios hold on a noisy machine; the median round is reported.

const now = () => performance.now();

/** Iterations that take about `targetMs`. */
function calibrate(fn, targetMs) {
    let iterations = 1;
    for (;;) {
        const start = now();
        for (let i = 0; i < iterations; i++) fn();
        const elapsed = now() - start;
        if (elapsed >= targetMs / 4 || iterations > 1e7) {
            return Math.max(1, Math.round((iterations * targetMs) / Math.max(elapsed, 0.001)));
        }
        iterations *= 4;
    }
}

/**
 * Times each competitor (name -> function) of one case.
 * Gives name -> {nsPerOp, rounds}.
 */
export function compare(competitors, { rounds = 9, roundMs = 80 } = {}) {
    const entries = Object.entries(competitors);
    const plan = entries.map(([name, fn]) => ({ name, fn, iterations: calibrate(fn, roundMs), samples: [] }));
    for (let round = 0; round < rounds; round++) {
        for (const item of round % 2 === 0 ? plan : [...plan].reverse()) {
            const start = now();
            for (let i = 0; i < item.iterations; i++) item.fn();
            item.samples.push(((now() - start) * 1e6) / item.iterations);
        }
    }
    return Object.fromEntries(plan.map((item) => [item.name, { nsPerOp: median(item.samples), rounds }]));
}

function median(values) {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)];
}
