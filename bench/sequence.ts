/**
 * Sequence accounting: what one receiver saw of one sender's numbered messages: how many
 * distinct ones, which came twice, which came after a later one (reordered). Lost is what
 * the sender sent minus what arrived.
 */

export type Receipt = 'new' | 'duplicate' | 'reordered';

export class SequenceTracker {
  private seen = new Uint8Array(64);
  distinct = 0;
  duplicates = 0;
  reordered = 0;
  /** Highest sequence number seen, -1 before the first. */
  highest = -1;

  /** Records sequence number `seq` (0-based); says whether it was new, and in order. */
  receive(seq: number): Receipt {
    if (!Number.isSafeInteger(seq) || seq < 0) throw new RangeError(`bad sequence number ${seq}`);
    const byte = seq >> 3;
    if (byte >= this.seen.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.seen.length * 2));
      grown.set(this.seen);
      this.seen = grown;
    }
    const bit = 1 << (seq & 7);
    if (this.seen[byte] & bit) {
      this.duplicates++;
      return 'duplicate';
    }
    this.seen[byte] |= bit;
    this.distinct++;
    if (seq < this.highest) {
      this.reordered++;
      return 'reordered';
    }
    this.highest = seq;
    return 'new';
  }

  /** Whether `seq` has arrived. */
  has(seq: number): boolean {
    const byte = seq >> 3;
    return byte < this.seen.length && (this.seen[byte] & (1 << (seq & 7))) !== 0;
  }

  /** Messages among the first `sent` that never arrived. */
  lost(sent: number): number {
    let arrived = 0;
    const whole = sent >> 3;
    for (let i = 0; i < whole && i < this.seen.length; i++) arrived += popcount(this.seen[i]);
    for (let seq = whole << 3; seq < sent; seq++) if (this.has(seq)) arrived++;
    return sent - arrived;
  }
}

function popcount(b: number): number {
  let n = 0;
  for (let x = b; x; x &= x - 1) n++;
  return n;
}
