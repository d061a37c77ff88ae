/**
 * One session's side of the accounts: who it is logged in as, the name it holds, and the
 * commands `register|`, `login|`, `passwd|`, `logout`, plus what accounts change in `rename|`
 * (a registered name needs its login) and `to|` (a registered name offline keeps the message).
 * It lives inside lib/session.ts's closure and answers in the session's own terms (lines,
 * `Answer`s), so the session stays one pure function of its input.
 *
 * The rule that keeps it simple: a logged-in connection holds its account's name. It cannot
 * rename while logged in (it logs out first), and when its account logs in on another
 * connection, that one takes the name and this one is logged out (the second login replaces
 * the first).
 */
import { ObservableInput, isObservable, map, mergeMap, of } from 'rxjs';
import type { Answer, Hub } from '../hub';
import { Line } from '../outbox';
import { Command, Event, nameKey, renderEvent } from '../protocol';
import type { Output } from '../session';
import type { Texts } from '../texts';
import type { OfflineMessage } from './accounts';
import { observe, then } from './answer';
import { Auth, LoggedIn, UNAVAILABLE } from './auth';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES, passwordProblem } from './passwords';

/** What the server gives a session for its accounts. */
export interface SessionAccountsOptions {
  readonly auth: Auth;
  /** The client's IP: the brute-force limit's second key. */
  readonly ip: string;
  /**
   * Passwords may be sent on this connection: TLS, loopback, or `--allow-plaintext-auth`.
   * Otherwise `register|`, `login|` and `passwd|` are refused with a notice naming the TLS port.
   */
  readonly passwordsAllowed: boolean;
  /** The TLS port to name in that notice, read when it is sent (it is bound after the server starts). */
  readonly tlsPort?: () => number | undefined;
  /** A private message's id and time in the message log (no id when there is no log). */
  readonly stamp: (event: Extract<Event, { kind: 'private' }>) => { readonly id?: string; readonly time: number };
}

export type AccountCommand = Extract<Command, { kind: 'register' | 'login' | 'passwd' | 'logout' }>;

export interface SessionAccountsContext extends SessionAccountsOptions {
  readonly hub: Hub;
  readonly texts: Texts;
  readonly id: string;
  readonly addr: string;
  /** Whether the user asked for `cap|tags` (kept messages then carry their original id and time). */
  readonly tags: () => boolean;
}

/** An answer of several lines as the session's replies: now if known now. */
function lines(answer$: Answer<Output[]>): ObservableInput<Output> {
  return isObservable(answer$) ? answer$.pipe(mergeMap((out) => out)) : answer$;
}

const NOTHING: readonly Output[] = [];

/** Whole minutes to wait, at least one. */
function minutes(ms: number): number {
  return Math.max(1, Math.ceil(ms / 60_000));
}

export class SessionAccounts {
  private account: LoggedIn | undefined;
  /** The name this connection holds now: the sender of the messages it has kept for others. */
  private name: string;

  constructor(private readonly c: SessionAccountsContext) {
    this.name = c.addr;
  }

  /** Who this connection is logged in as, if anyone. */
  get loggedInAs(): LoggedIn | undefined {
    return this.account;
  }

  handle(command: AccountCommand): ObservableInput<Output> {
    const { texts: t, auth } = this.c;
    if (command.kind === 'logout') return lines(this.logout());
    if (!this.c.passwordsAllowed) return [t.authNeedsTls(this.c.tlsPort?.())];
    switch (command.kind) {
      case 'register': {
        if (this.name === this.c.addr) return [t.registerNeedsName];
        if (passwordProblem(command.password)) return [t.passwordInvalid(PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES)];
        const name = this.name;
        return auth.register(name, command.password, this.c.addr).pipe(
          map((result): Output => {
            if (result === UNAVAILABLE) return t.accountsUnavailable;
            if (result === 'exists') return t.alreadyRegistered(name);
            this.account = { key: nameKey(name), name };
            return t.registered(name);
          }),
        );
      }
      case 'login':
        return auth.login(command.name, command.password, this.c.ip, this.c.addr).pipe(
          mergeMap((result) => {
            if (result.ok) return observe(this.loggedIn(result.account)).pipe(mergeMap((out) => out));
            if (result.why === 'limited') return of(t.tooManyAttempts(minutes(result.retryAfterMs)));
            return of(result.why === UNAVAILABLE ? t.accountsUnavailable : t.loginFailed);
          }),
        );
      case 'passwd': {
        const account = this.account;
        if (!account) return [t.notLoggedIn];
        if (passwordProblem(command.password)) return [t.passwordInvalid(PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES)];
        return auth.passwd(account, command.old, command.password, this.c.ip, this.c.addr).pipe(
          map((result): Output => {
            if (result === 'ok') return t.passwordChanged;
            if (result === 'wrong') return t.wrongPassword;
            if (result === UNAVAILABLE) return t.accountsUnavailable;
            return t.tooManyAttempts(minutes(result.retryAfterMs));
          }),
        );
      }
    }
  }

  /** `rename|NAME` (a valid name): not while logged in, not to someone's account. */
  rename(name: string): ObservableInput<Output> {
    const t = this.c.texts;
    const go$ = (): Answer<Output[]> =>
      then(this.c.hub.rename(this.c.id, name), (result) => {
        if (result === 'taken') return [t.nameTaken];
        this.name = name;
        return [t.renamed(name)];
      });
    // Logged in: only its own name, in another spelling (`Alice` for `alice`).
    if (this.account !== undefined) return nameKey(name) === this.account.key ? lines(go$()) : [t.renameWhileLoggedIn(this.account.name)];
    return lines(
      then(this.c.auth.isRegistered(name), (registered): Answer<Output[]> => {
        if (registered === UNAVAILABLE) return [t.accountsUnavailable];
        return registered ? [t.nameRegistered(name)] : go$();
      }),
    );
  }

  /** `to|NAME|TEXT`: delivered, or kept for a registered NAME nobody holds, or nobody's. */
  whisper(name: string, text: string): ObservableInput<Output> {
    const { hub, auth, texts: t } = this.c;
    const delivered$ = hub.whisper(this.c.id, name, text);
    // Delivered now (the usual case, every private message in memory): nothing to say, nothing to compose.
    if (delivered$ === true) return NOTHING;
    return lines(
      then(delivered$, (delivered): Answer<Output[]> => {
        if (delivered) return [];
        return then(auth.isRegistered(name), (registered): Answer<Output[]> => {
          if (registered === UNAVAILABLE) return [t.accountsUnavailable];
          if (!registered) return [t.noSuchUser(name)];
          const { id, time } = this.c.stamp({ kind: 'private', from: this.name, text });
          const message: OfflineMessage = id === undefined ? { time, from: this.name, text } : { id, time, from: this.name, text };
          return then(auth.keepOffline(name, message), (kept) => [kept ? t.offlineKept(name) : t.accountsUnavailable]);
        });
      }),
    );
  }

  /**
   * An event from this member's inbox that changes who it is: the line for it when the accounts
   * word it (`reclaimed`), undefined to render it as usual.
   */
  fromInbox(event: Event): Line | undefined {
    if (event.kind === 'nameLost') {
      // Lost during a cluster outage: whatever it was logged in as, it no longer holds that name.
      this.name = event.addr;
      this.account = undefined;
      return undefined;
    }
    if (event.kind !== 'reclaimed') return undefined;
    const replaced = this.account !== undefined && this.account.key === nameKey(event.name);
    this.account = undefined;
    this.name = event.addr;
    const t = this.c.texts;
    return new Line(replaced ? t.loggedInElsewhere(event.addr) : t.nameReclaimed(event.name, event.addr));
  }

  /** Takes the account's name (from whoever holds it), then the messages kept for it. */
  private loggedIn(account: LoggedIn): Answer<Output[]> {
    const t = this.c.texts;
    return then(this.c.hub.claim(this.c.id, account.name), (claimed): Answer<Output[]> => {
      if (claimed === 'taken') return [t.nameTaken];
      this.account = account;
      this.name = account.name;
      return then(this.c.auth.takeOffline(account.key), (kept) => [t.loggedIn(account.name), ...kept.map((m) => this.keptLine(m))]);
    });
  }

  private logout(): Answer<Output[]> {
    const t = this.c.texts;
    if (!this.account) return [t.notLoggedIn];
    this.account = undefined;
    const addr = this.c.addr;
    return then(this.c.hub.rename(this.c.id, addr), (result) => {
      if (result === 'ok') this.name = addr;
      return [t.loggedOut(this.name)];
    });
  }

  /**
   * A kept message as the recipient gets it: `SENDER : TEXT`, tagged with its original id and
   * time. A reply's text, not a shared Line: a reply carrying a log id must never be taken for a
   * live line by the session's replay splicing (lib/replay.ts), which sees replies too.
   */
  private keptLine(m: OfflineMessage): string {
    const line = new Line(
      renderEvent({ kind: 'private', from: m.from, text: m.text }, this.c.texts),
      m.id === undefined ? undefined : { id: m.id, time: m.time },
    );
    return this.c.tags() ? line.tagged.text : line.text;
  }
}
