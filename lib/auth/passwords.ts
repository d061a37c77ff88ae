/**
 * Password hashing for accounts: `crypto.scrypt` (memory-hard, in Node itself: no native
 * dependency to build, unlike argon2) with a random salt per account, stored as a PHC-style
 * string that carries its own parameters, so the cost can be raised later without locking
 * anyone out (`needsRehash`). Verification compares in constant time and, for a name that has
 * no account, runs the same KDF against a dummy hash: a wrong name and a wrong password cost
 * the same time and get the same answer.
 *
 * Default cost: N = 2^15, r = 8, p = 3, one of OWASP's equivalent scrypt settings (2^17/8/1,
 * 2^16/8/2, 2^15/8/3, ...): 32 MiB of memory per hash (128 * N * r bytes; the p lanes run one
 * after the other in Node), so a GPU or ASIC pays in memory for every guess. Measured on the
 * development machine (2 shared cores): about 350 ms a hash, run on libuv's thread pool, never
 * on the event loop. 2^17/8/1 took 750 ms there, too long to wait at every login.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

export interface KdfParams {
  /** log2 of scrypt's N (CPU/memory cost). */
  readonly logN: number;
  /** Block size. */
  readonly r: number;
  /** Parallelism (sequential lanes in Node). */
  readonly p: number;
}

export const DEFAULT_KDF: KdfParams = { logN: 15, r: 8, p: 3 };

/** Bytes of salt and of derived key. */
const SALT_BYTES = 16;
const KEY_BYTES = 32;

/** Password length bounds, in UTF-8 bytes. */
export const PASSWORD_MIN_BYTES = 8;
export const PASSWORD_MAX_BYTES = 128;

export type PasswordProblem = 'length' | 'bar';

/**
 * Why a new password is refused, or undefined. `|` is refused because it separates the fields
 * of `passwd|OLD|NEW`: with it allowed, OLD would be ambiguous; without it, every password
 * can always be given back as OLD.
 */
export function passwordProblem(password: string): PasswordProblem | undefined {
  const bytes = Buffer.byteLength(password, 'utf8');
  if (bytes < PASSWORD_MIN_BYTES || bytes > PASSWORD_MAX_BYTES) return 'length';
  if (password.includes('|')) return 'bar';
  return undefined;
}

interface Decoded {
  readonly params: KdfParams;
  readonly salt: Buffer;
  readonly key: Buffer;
}

const ENCODED = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

/** `$scrypt$ln=15,r=8,p=3$SALT$KEY` (base64 without padding) -> its parts; undefined if malformed. */
function decode(encoded: string): Decoded | undefined {
  const m = ENCODED.exec(encoded);
  if (!m) return undefined;
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (!isSane(params)) return undefined;
  return { params, salt: Buffer.from(m[4], 'base64'), key: Buffer.from(m[5], 'base64') };
}

function encode(params: KdfParams, salt: Buffer, key: Buffer): string {
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${b64(salt)}$${b64(key)}`;
}

/** Bounds a stored hash may claim: a tampered row must not make one login take minutes or gigabytes. */
function isSane(params: KdfParams): boolean {
  return params.logN >= 1 && params.logN <= 20 && params.r >= 1 && params.r <= 32 && params.p >= 1 && params.p <= 16;
}

function derive(password: string, salt: Buffer, params: KdfParams, keyBytes: number): Promise<Buffer> {
  const N = 2 ** params.logN;
  // Node refuses more than 32 MiB unless told: allow what these parameters need, and a margin.
  const maxmem = 128 * N * params.r + 16 * 1024 * 1024;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, keyBytes, { N, r: params.r, p: params.p, maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** Hashes and verifies with one set of parameters; holds the dummy hash unknown names are checked against. */
export class Passwords {
  /**
   * What an unknown name is checked against: these parameters, a random salt and a random key
   * that no password derives to. Same work as a real check, no hashing needed to make it.
   */
  private readonly dummy: Decoded;

  constructor(readonly params: KdfParams = DEFAULT_KDF) {
    if (!isSane(params)) throw new RangeError(`scrypt parameters out of range: ${JSON.stringify(params)}`);
    this.dummy = { params, salt: randomBytes(SALT_BYTES), key: randomBytes(KEY_BYTES) };
  }

  /** A new hash with a fresh random salt. */
  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    return encode(this.params, salt, await derive(password, salt, this.params, KEY_BYTES));
  }

  /**
   * Whether `password` matches `encoded`. With no hash (no such account) or a malformed one,
   * the KDF still runs, on a dummy hash of these parameters, and the answer is false.
   */
  async verify(password: string, encoded: string | undefined): Promise<boolean> {
    const stored = encoded === undefined ? undefined : decode(encoded);
    const against = stored ?? this.dummy;
    const key = await derive(password, against.salt, against.params, against.key.length || KEY_BYTES);
    const equal = key.length === against.key.length && timingSafeEqual(key, against.key);
    return stored !== undefined && equal;
  }

  /** True when a stored hash was made with other parameters than these (rehash it at the next login). */
  needsRehash(encoded: string): boolean {
    const stored = decode(encoded);
    return stored === undefined || stored.params.logN !== this.params.logN || stored.params.r !== this.params.r || stored.params.p !== this.params.p;
  }
}
