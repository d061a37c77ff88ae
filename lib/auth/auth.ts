/**
 * The accounts as a server has them: the store, the password hashing and the brute-force
 * limiter behind the four things a session asks (register, log in, change a password, keep
 * or collect offline messages). Results are typed values, never texts: the session words them.
 * Every operator log line names the account and the address, never a password or a hash.
 */
import { Observable, defer, from, map, mergeMap, of } from 'rxjs';
import { Answer, answerOf } from '../hub';
import type { Level } from '../logger';
import { nameKey } from '../protocol';
import { AccountStore, MAX_OFFLINE, OfflineMessage } from './accounts';
import { UNAVAILABLE, Unavailable, guarded, observe, then } from './answer';
import { Attempt, AttemptLimiter, attemptKeys } from './limiter';
import { KdfParams, Passwords } from './passwords';

export { UNAVAILABLE, type Unavailable } from './answer';

/** Who a connection is logged in as. */
export interface LoggedIn {
  readonly key: string;
  readonly name: string;
}

export type RegisterResult = 'ok' | 'exists' | Unavailable;
export type LoginResult = { readonly ok: true; readonly account: LoggedIn } | { readonly ok: false; readonly why: 'wrong' | Unavailable } | Limited;
export type PasswdResult = 'ok' | 'wrong' | Unavailable | Limited;
export interface Limited {
  readonly ok: false;
  readonly why: 'limited';
  readonly retryAfterMs: number;
}

export interface AuthOptions {
  readonly store: AccountStore;
  readonly limiter: AttemptLimiter;
  readonly passwords?: Passwords;
  /** Most messages kept per offline account (oldest dropped). */
  readonly maxOffline?: number;
  /** The TLS port the plaintext refusal names; undefined: the server has none. */
  readonly tlsPort?: number;
  /** Passwords accepted over plain connections from anywhere (`--allow-plaintext-auth`: unsafe). */
  readonly allowPlaintext?: boolean;
  /** The operator's log (no password or hash ever reaches it). */
  readonly log?: (level: Level, line: string, fields: Readonly<Record<string, string | number>>) => void;
}

export class Auth {
  readonly store: AccountStore;
  readonly passwords: Passwords;
  readonly tlsPort: number | undefined;
  readonly allowPlaintext: boolean;
  private readonly limiter: AttemptLimiter;
  private readonly maxOffline: number;
  private readonly log: NonNullable<AuthOptions['log']>;

  constructor(options: AuthOptions) {
    this.store = options.store;
    this.limiter = options.limiter;
    this.passwords = options.passwords ?? new Passwords();
    this.maxOffline = options.maxOffline ?? MAX_OFFLINE;
    this.tlsPort = options.tlsPort;
    this.allowPlaintext = options.allowPlaintext ?? false;
    this.log = options.log ?? (() => {});
  }

  /** Whether a name belongs to an account (by its key: `Bob` and `b0b` are `bob`'s). */
  isRegistered(name: string): Answer<boolean | Unavailable> {
    return then(
      guarded(
        () => this.store.find(nameKey(name)),
        (error) => this.failed('looking up an account', error),
      ),
      (found) => (found === UNAVAILABLE ? UNAVAILABLE : found !== undefined),
    );
  }

  /** Registers `name` with a new password (already checked by `passwordProblem`). */
  register(name: string, password: string, addr: string): Observable<RegisterResult> {
    const key = nameKey(name);
    return observe(
      guarded(
        () => this.store.find(key),
        (error) => this.failed('looking up an account', error),
      ),
    ).pipe(
      mergeMap((found) => {
        if (found === UNAVAILABLE) return of(UNAVAILABLE);
        if (found !== undefined) return of('exists' as const);
        return from(this.passwords.hash(password)).pipe(
          mergeMap((hash) =>
            observe(
              guarded(
                () => this.store.create({ key, name, hash }),
                (error) => this.failed('creating an account', error),
              ),
            ),
          ),
          map((created): RegisterResult => (created === UNAVAILABLE ? UNAVAILABLE : created ? 'ok' : 'exists')),
        );
      }),
      map((result) => {
        if (result === 'ok') this.log('info', `account registered: ${name} from ${addr}`, { event: 'registered', account: name, addr });
        return result;
      }),
    );
  }

  /**
   * Checks a name and password. A wrong name and a wrong password are one answer, `wrong`, after
   * one KDF run each (an unknown name is checked against a dummy hash); both count against the
   * name's and the IP's limits.
   */
  login(name: string, password: string, ip: string, addr: string): Observable<LoginResult> {
    const key = nameKey(name);
    return this.limited(key, ip, addr, name, 'login', { ok: false, why: UNAVAILABLE }, (attempt) =>
      observe(
        guarded(
          () => this.store.find(key),
          (error) => this.failed('looking up an account', error),
        ),
      ).pipe(
        mergeMap((found) => {
          if (found === UNAVAILABLE) {
            // Not the user's failure: it does not count.
            this.limiter.forgive(attempt);
            return of<LoginResult>({ ok: false, why: UNAVAILABLE });
          }
          return from(this.passwords.verify(password, found?.hash)).pipe(
            map((right): LoginResult => {
              if (!right || found === undefined) {
                this.log('warn', `login failed: ${name} from ${addr}`, { event: 'login_failed', account: name, addr });
                return { ok: false, why: 'wrong' };
              }
              this.limiter.forgive(attempt);
              this.log('info', `logged in: ${found.name} from ${addr}`, { event: 'logged_in', account: found.name, addr });
              if (this.passwords.needsRehash(found.hash)) this.rehash(found.key, password);
              return { ok: true, account: { key: found.key, name: found.name } };
            }),
          );
        }),
      ),
    );
  }

  /** Changes a logged-in account's password; a wrong OLD counts as a failed login. */
  passwd(account: LoggedIn, old: string, password: string, ip: string, addr: string): Observable<PasswdResult> {
    return this.limited(account.key, ip, addr, account.name, 'passwd', UNAVAILABLE, (attempt) =>
      observe(
        guarded(
          () => this.store.find(account.key),
          (error) => this.failed('looking up an account', error),
        ),
      ).pipe(
        mergeMap((found) => {
          if (found === UNAVAILABLE) {
            this.limiter.forgive(attempt);
            return of<PasswdResult>(UNAVAILABLE);
          }
          return from(this.passwords.verify(old, found?.hash)).pipe(
            mergeMap((right) => {
              if (!right) {
                this.log('warn', `password change refused (wrong password): ${account.name} from ${addr}`, {
                  event: 'passwd_failed',
                  account: account.name,
                  addr,
                });
                return of<PasswdResult>('wrong');
              }
              this.limiter.forgive(attempt);
              return from(this.passwords.hash(password)).pipe(
                mergeMap((hash) =>
                  observe(
                    guarded(
                      () => this.store.setHash(account.key, hash),
                      (error) => this.failed('changing a password', error),
                    ),
                  ),
                ),
                map((set): PasswdResult => {
                  if (set === UNAVAILABLE) return UNAVAILABLE;
                  if (!set) return 'wrong';
                  this.log('info', `password changed: ${account.name} from ${addr}`, { event: 'passwd', account: account.name, addr });
                  return 'ok';
                }),
              );
            }),
          );
        }),
      ),
    );
  }

  /** Keeps a private message for an offline account; false when the store failed. */
  keepOffline(name: string, message: OfflineMessage): Answer<boolean> {
    return then(
      guarded(
        () => this.store.keep(nameKey(name), message, this.maxOffline),
        (error) => this.failed('keeping an offline message', error),
      ),
      (kept) => kept !== UNAVAILABLE,
    );
  }

  /** The messages kept for an account, oldest first, and forgets them; none when the store failed. */
  takeOffline(key: string): Answer<readonly OfflineMessage[]> {
    return then(
      guarded(
        () => this.store.take(key),
        (error) => this.failed('reading offline messages', error),
      ),
      (taken) => (taken === UNAVAILABLE ? [] : taken),
    );
  }

  /** Runs `check` if the limiter lets the attempt through; otherwise answers `limited` at once. */
  private limited<R>(
    key: string,
    ip: string,
    addr: string,
    name: string,
    what: string,
    unavailable: R,
    check$: (attempt: Attempt) => Observable<R>,
  ): Observable<R | Limited> {
    return defer(() =>
      observe(
        guarded(
          () => this.limiter.attempt(attemptKeys(key, ip)),
          (error) => this.failed('checking the attempt limit', error),
        ),
      ),
    ).pipe(
      mergeMap((result) => {
        // A limiter that cannot be asked (Redis gone) lets nobody try: no unlimited guessing during an outage.
        if (result === UNAVAILABLE) return of(unavailable);
        if (!result.ok) {
          this.log('warn', `${what} refused (too many attempts): ${name} from ${addr}`, { event: 'auth_limited', account: name, addr });
          return of<Limited>({ ok: false, why: 'limited', retryAfterMs: result.retryAfterMs });
        }
        return check$(result.attempt);
      }),
    );
  }

  /** A login with a hash of old parameters: store a new one, in the background. */
  private rehash(key: string, password: string): void {
    // In the background: the login does not wait for it; a failure is logged, nothing else.
    void this.passwords
      .hash(password)
      .then((hash) => answerOf(this.store.setHash(key, hash)))
      .then(
        () => undefined,
        (error: unknown) => this.failed('rehashing a password', error),
      );
  }

  private failed(doing: string, error: unknown): void {
    const why = error instanceof Error ? error.message : String(error);
    this.log('error', `accounts: failed ${doing}: ${why}`, { component: 'accounts', error: why });
  }
}

/** What a server is given for its accounts (`ServerOptions.accounts`); every part has a default. */
export interface AccountsConfig {
  /** In memory by default; the CLI gives SQLite (the log's file) or Redis. */
  readonly store?: AccountStore;
  /** In memory by default (clocked by the server's scheduler); Redis shares it between nodes. */
  readonly limiter?: AttemptLimiter;
  /** scrypt's cost (DEFAULT_KDF); tests make it cheap. */
  readonly kdf?: KdfParams;
  /** `--allow-plaintext-auth`: passwords accepted over plain connections from anywhere. Unsafe. */
  readonly allowPlaintext?: boolean;
  readonly maxOffline?: number;
}

/** 127.0.0.0/8 and ::1, IPv4-mapped included: traffic that never leaves the machine. */
export function isLoopback(ip: string): boolean {
  const v4 = ip.startsWith('::ffff:') ? ip.slice('::ffff:'.length) : ip;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4) || ip === '::1';
}

/** Whether a connection may carry passwords: TLS, loopback, or the operator said so. */
export function passwordsAllowed(peer: { readonly ip: string; readonly secure?: boolean }, allowPlaintext: boolean): boolean {
  return peer.secure === true || isLoopback(peer.ip) || allowPlaintext;
}
