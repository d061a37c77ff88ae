/**
 * Latency histogram: log-linear buckets (under 1% error) so that millions of samples from
 * several worker threads cost a few kilobytes and merge by adding counts.
 */

const SUB = 128; // exact below this; above it, 64 buckets per power of two
const HALF = SUB / 2;
const BUCKETS = SUB + 48 * HALF; // up to 2^54 µs, far beyond any run

/** The bucket a non-negative integer value falls in. */
export function bucketOf(value: number): number {
  const v = Math.max(0, Math.floor(value));
  if (v < SUB) return v;
  const shift = Math.floor(Math.log2(v)) - 6; // mantissa in [64, 128)
  let mantissa = Math.floor(v / 2 ** shift);
  // Math.log2 may round up just below a power of two.
  if (mantissa < HALF) mantissa = HALF;
  return Math.min(BUCKETS - 1, SUB + (shift - 1) * HALF + (mantissa - HALF));
}

/** The smallest value in a bucket. */
export function bucketLow(bucket: number): number {
  if (bucket < SUB) return bucket;
  const shift = Math.floor((bucket - SUB) / HALF) + 1;
  const mantissa = ((bucket - SUB) % HALF) + HALF;
  return mantissa * 2 ** shift;
}

/** The largest value in a bucket. */
export function bucketHigh(bucket: number): number {
  return bucket < SUB ? bucket : bucketLow(bucket + 1) - 1;
}

export interface Summary {
  readonly count: number;
  readonly min: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
}

export class Histogram {
  readonly counts: Float64Array;
  count = 0;
  sum = 0;
  min = Infinity;
  max = 0;

  constructor(counts?: ArrayLike<number>) {
    this.counts = new Float64Array(BUCKETS);
    if (counts) this.counts.set(counts);
  }

  record(value: number): void {
    const v = value < 0 ? 0 : value;
    this.counts[bucketOf(v)]++;
    this.count++;
    this.sum += v;
    if (v < this.min) this.min = v;
    if (v > this.max) this.max = v;
  }

  /** Adds another histogram's samples to this one. */
  merge(other: HistogramData): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] += other.counts[i] ?? 0;
    this.count += other.count;
    this.sum += other.sum;
    if (other.count > 0) {
      this.min = Math.min(this.min, other.min);
      this.max = Math.max(this.max, other.max);
    }
  }

  /**
   * The nearest-rank percentile (p in [0, 100]): the value below or at which p% of the
   * samples lie, as the middle of its bucket, clamped to the exact min and max.
   */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i];
      if (seen >= rank) {
        const mid = (bucketLow(i) + bucketHigh(i)) / 2;
        return Math.min(this.max, Math.max(this.min, mid));
      }
    }
    return this.max;
  }

  summary(): Summary {
    return {
      count: this.count,
      min: this.count ? this.min : NaN,
      mean: this.count ? this.sum / this.count : NaN,
      p50: this.percentile(50),
      p90: this.percentile(90),
      p99: this.percentile(99),
      max: this.count ? this.max : NaN,
    };
  }

  /** A plain object that survives `postMessage`. */
  data(): HistogramData {
    return { counts: Array.from(this.counts), count: this.count, sum: this.sum, min: this.min, max: this.max };
  }
}

export interface HistogramData {
  readonly counts: ArrayLike<number>;
  readonly count: number;
  readonly sum: number;
  readonly min: number;
  readonly max: number;
}

/** The exact nearest-rank percentile of sorted values: what the histogram approximates. */
export function exactPercentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}
