/**
 * The accounts' storage seam: who owns which name (by its `nameKey`, so `Alice`, `alice` and
 * `a1ice` are one account), the password hash, and the private messages kept for an account
 * while it is offline. `MemoryAccounts` here; SQLite (`./sqlite-accounts.ts`, the log's file) and
 * Redis (`./redis-accounts.ts`, shared by every node) behind the same interface. Answers follow
 * the hub's rule: a value when known now, an Observable when a round trip is needed. A store
 * never sees a password, only its hash.
 */
import type { Answer } from '../hub';

export interface Account {
  /** `nameKey(name)`: what makes two names the same account. */
  readonly key: string;
  /** The name as it was registered, as the owner gets it back at login. */
  readonly name: string;
  /** `Passwords.hash()`'s string; never a password. */
  readonly hash: string;
}

/** A private message kept for an offline account. */
export interface OfflineMessage {
  /** The log's id and time of the message as it was sent (no id when the server keeps no log). */
  readonly id?: string;
  readonly time: number;
  readonly from: string;
  readonly text: string;
}

export interface AccountStore {
  find(key: string): Answer<Account | undefined>;
  /** Creates the account; false when the key is registered already (check and create are one step). */
  create(account: Account): Answer<boolean>;
  /** Replaces an account's hash; false when there is no such account. */
  setHash(key: string, hash: string): Answer<boolean>;
  /** Keeps a message for the account, dropping its oldest beyond `max`. */
  keep(key: string, message: OfflineMessage, max: number): Answer<void>;
  /** The account's kept messages, oldest first, removed from the store in the same step. */
  take(key: string): Answer<readonly OfflineMessage[]>;
}

/** Most messages kept per offline account. */
export const MAX_OFFLINE = 100;

/** In this process: for tests, and for a server run without a data directory. */
export class MemoryAccounts implements AccountStore {
  private readonly accounts = new Map<string, Account>();
  private readonly kept = new Map<string, OfflineMessage[]>();

  find(key: string): Account | undefined {
    return this.accounts.get(key);
  }

  create(account: Account): boolean {
    if (this.accounts.has(account.key)) return false;
    this.accounts.set(account.key, account);
    return true;
  }

  setHash(key: string, hash: string): boolean {
    const account = this.accounts.get(key);
    if (!account) return false;
    this.accounts.set(key, { ...account, hash });
    return true;
  }

  keep(key: string, message: OfflineMessage, max: number): void {
    const list = this.kept.get(key) ?? [];
    list.push(message);
    if (list.length > max) list.splice(0, list.length - max);
    this.kept.set(key, list);
  }

  take(key: string): readonly OfflineMessage[] {
    const list = this.kept.get(key) ?? [];
    this.kept.delete(key);
    return list;
  }
}
