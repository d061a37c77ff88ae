/**
 * Password hashing (lib/auth/passwords.ts): the stored form, verification, the password rules,
 * and the rule that a wrong name costs the same KDF run as a wrong password.
 */
import test from 'ava';
import { DEFAULT_KDF, PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, Passwords, passwordProblem } from '../../lib/auth/passwords';

const CHEAP = { logN: 10, r: 8, p: 1 };

test('a hash is a PHC-style scrypt string with its parameters and a fresh salt; it verifies only its password', async (t) => {
  const pw = new Passwords(CHEAP);
  const a = await pw.hash('correct horse');
  const b = await pw.hash('correct horse');
  t.regex(a, /^\$scrypt\$ln=10,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$/);
  t.not(a, b, 'each hash has its own salt');
  t.false(a.includes('correct horse'));
  t.true(await pw.verify('correct horse', a));
  t.true(await pw.verify('correct horse', b));
  t.false(await pw.verify('correct horsf', a));
  t.false(await pw.verify('', a));
});

test('no account (undefined) or a malformed stored hash never verifies', async (t) => {
  const pw = new Passwords(CHEAP);
  t.false(await pw.verify('anything at all', undefined));
  for (const bad of ['', 'plain', '$scrypt$ln=10,r=8,p=1$$', '$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA', '$scrypt$ln=30,r=8,p=1$c2FsdHNhbHRzYWx0$aGFzaA']) {
    t.false(await pw.verify('anything at all', bad), bad);
  }
});

test('a hash keeps its own parameters: it verifies under other defaults, and is flagged for rehash', async (t) => {
  const old = await new Passwords({ logN: 9, r: 8, p: 1 }).hash('pass word 1');
  const now = new Passwords(CHEAP);
  t.true(await now.verify('pass word 1', old));
  t.true(now.needsRehash(old));
  t.false(now.needsRehash(await now.hash('pass word 1')));
});

test('parameters out of range are refused (a programmer error)', (t) => {
  t.throws(() => new Passwords({ logN: 0, r: 8, p: 1 }), { instanceOf: RangeError });
  t.throws(() => new Passwords({ logN: 21, r: 8, p: 1 }), { instanceOf: RangeError });
  t.deepEqual(DEFAULT_KDF, { logN: 15, r: 8, p: 3 });
});

test('password rules: 8 to 128 UTF-8 bytes, no "|"', (t) => {
  t.is(PASSWORD_MIN_BYTES, 8);
  t.is(PASSWORD_MAX_BYTES, 128);
  t.is(passwordProblem('1234567'), 'length');
  t.is(passwordProblem('12345678'), undefined);
  t.is(passwordProblem('x'.repeat(128)), undefined);
  t.is(passwordProblem('x'.repeat(129)), 'length');
  // Bytes, not characters: three CJK characters are 9 bytes, two are 6.
  t.is(passwordProblem('密码好'), undefined);
  t.is(passwordProblem('密码'), 'length');
  t.is(passwordProblem('密'.repeat(42) + 'xx'), undefined); // 128 bytes
  t.is(passwordProblem('密'.repeat(43)), 'length'); // 129 bytes
  t.is(passwordProblem('pass|word'), 'bar');
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

test('a wrong name (dummy hash) and a wrong password take about the same time', async (t) => {
  // Enough work per check (about 50-100 ms here) for scheduling noise to stay small beside it.
  const pw = new Passwords({ logN: 14, r: 8, p: 1 });
  const stored = await pw.hash('the right one');
  const unknown: number[] = [];
  const wrong: number[] = [];
  const time = async (encoded: string | undefined) => {
    const start = process.hrtime.bigint();
    t.false(await pw.verify('a wrong guess', encoded));
    return Number(process.hrtime.bigint() - start) / 1e6;
  };
  for (let i = 0; i < 7; i++) {
    unknown.push(await time(undefined));
    wrong.push(await time(stored));
  }
  const ratio = median(unknown) / median(wrong);
  t.log(`median: unknown name ${median(unknown).toFixed(1)} ms, wrong password ${median(wrong).toFixed(1)} ms`);
  t.true(ratio > 0.6 && ratio < 1.67, `ratio ${ratio}`);
});
