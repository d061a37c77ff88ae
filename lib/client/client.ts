/**
 * The client's core, `main(sources) => effects` in the Cycle.js sense: the user's lines and
 * the server's lines in, screen lines, prompts and socket writes out. No terminal, no socket:
 * cli/client.ts drives it, marble tests drive it in virtual time.
 */
import {
  Observable,
  SchedulerLike,
  asyncScheduler,
  catchError,
  concat,
  connect,
  defer,
  endWith,
  filter,
  map,
  merge,
  mergeMap,
  of,
  scan,
  switchMap,
  take,
  takeWhile,
  timer,
} from 'rxjs';
import { Framed } from '../lines';
import { chatMode } from './chat';
import { Effect, Mode, show } from './effects';
import { incoming, isFarewell } from './incoming';
import { menuMode } from './menu';
import { ClientTexts } from './texts';

export interface ClientSources {
  /** The user's lines; completes when input ends (end of piped stdin, Ctrl-D). */
  readonly input$: Observable<string>;
  /** The server's lines; completes when the server closes, errors on a network error. */
  readonly server$: Observable<Framed>;
}

export interface ClientOptions {
  readonly texts: ClientTexts;
  /** `menu`: the reference's menus (default); `chat`: one prompt and slash commands. */
  readonly mode?: 'menu' | 'chat';
  /**
   * After the user quits, how long to wait for the server to close its side before exiting
   * anyway. Our server closes right after its last reply; the reference server never does.
   */
  readonly lingerMs?: number;
  readonly scheduler?: SchedulerLike;
}

export const DEFAULT_LINGER_MS = 1000;

type Event =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'eof' }
  | { readonly kind: 'server'; readonly line: Framed }
  | { readonly kind: 'closed' }
  | { readonly kind: 'lost'; readonly error: unknown };

interface State<S> {
  readonly mode: S;
  /** The user has quit: the rest of the input is ignored, and a close is expected. */
  readonly quitting: boolean;
  /** The server's last line said it is closing the connection (kick, shutdown). */
  readonly farewell: boolean;
  readonly effects: readonly Effect[];
}

/** Why a connection failed or dropped, in the client's language: `连接被拒绝 (ECONNREFUSED)`. */
export function reason(error: unknown, t: ClientTexts): string {
  const e = error as { code?: unknown; message?: unknown } | null;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  return t.reason(code, typeof e?.message === 'string' ? e.message : String(error));
}

/**
 * ```
 * input$:   ---"1"--"hi there"--|
 * server$:  -j-------------------s--|      (j: own join, s: own broadcast)
 * effects:  M-j-P-----S----------(H)-s-(X|)   (M: menu, P: prompt, S: send, H: hang up, X: exit 0)
 * ```
 */
export function runClient(sources: ClientSources, options: ClientOptions): Observable<Effect> {
  return defer(() => {
    const t = options.texts;
    const scheduler = options.scheduler ?? asyncScheduler;
    const lingerMs = options.lingerMs ?? DEFAULT_LINGER_MS;
    // The one place the mode's state type is erased: each mode is internally consistent.
    const mode = (options.mode === 'chat' ? chatMode(t) : menuMode(t)) as Mode<unknown>;

    const events$: Observable<Event> = merge(
      sources.input$.pipe(
        map((text): Event => ({ kind: 'line', text })),
        // An input that fails is an input that ended.
        catchError(() => of<Event>({ kind: 'eof' })),
        endWith<Event>({ kind: 'eof' }),
        takeWhile((event) => event.kind !== 'eof', true),
      ),
      sources.server$.pipe(
        map((line): Event => ({ kind: 'server', line })),
        endWith<Event>({ kind: 'closed' }),
        catchError((error: unknown) => of<Event>({ kind: 'lost', error })),
      ),
    );

    const step = (state: State<unknown>, event: Event): State<unknown> => {
      const next = (changes: Partial<State<unknown>>): State<unknown> => ({ ...state, effects: [], ...changes });
      switch (event.kind) {
        case 'line': {
          if (state.quitting) return next({});
          const result = mode.line(state.mode, event.text);
          return next({
            mode: result.state,
            quitting: result.quit === true,
            effects: result.quit ? [...result.effects, { kind: 'hangup' }] : result.effects,
          });
        }
        case 'eof':
          return state.quitting ? next({}) : next({ quitting: true, effects: [{ kind: 'hangup' }] });
        case 'server': {
          const shown = incoming(event.line, t);
          return next({ farewell: isFarewell(event.line), effects: shown ? [shown] : [] });
        }
        case 'closed':
          if (state.quitting) return next({ effects: [{ kind: 'exit', code: 0 }] });
          if (state.farewell) return next({ effects: [show(t.serverClosed, 'notice'), { kind: 'exit', code: 0 }] });
          return next({ effects: [show(t.connectionClosed, 'error'), { kind: 'exit', code: 1 }] });
        case 'lost':
          // A reset right after a kick or shutdown notice is still the server's goodbye.
          if (state.farewell) return next({ effects: [show(t.serverClosed, 'notice'), { kind: 'exit', code: 0 }] });
          return next({ effects: [show(t.connectionLost(reason(event.error, t)), 'error'), { kind: 'exit', code: 1 }] });
      }
    };

    const initial: State<unknown> = { mode: mode.start.state, quitting: false, farewell: false, effects: [] };
    const effects$ = concat(
      of(...mode.start.effects),
      events$.pipe(
        scan(step, initial),
        mergeMap((state) => state.effects),
      ),
    );

    return effects$.pipe(
      // Both subscribers are in place before the effects start, so the linger timer cannot
      // miss a hang-up emitted synchronously.
      connect((effect$) =>
        merge(
          effect$,
          effect$.pipe(
            filter((effect) => effect.kind === 'hangup'),
            take(1),
            switchMap(() => timer(lingerMs, scheduler)),
            map((): Effect => ({ kind: 'exit', code: 0 })),
          ),
        ),
      ),
      takeWhile((effect) => effect.kind !== 'exit', true),
    );
  });
}
