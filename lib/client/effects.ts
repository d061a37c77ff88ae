/**
 * What the client's core asks of its edges: lines for the screen, the prompt, lines for the
 * socket, hanging up, exiting. The terminal edge (cli/client.ts) is the only code that acts
 * on them; marble tests compare them as values.
 */

/** How a screen line should look; the edge maps tones to colours (or to nothing). */
export type Tone = 'plain' | 'public' | 'private' | 'notice' | 'error';

export type Effect =
  /** A line for the screen, shown above the prompt and whatever the user is typing. */
  | { readonly kind: 'show'; readonly text: string; readonly tone: Tone }
  /**
   * The prompt that now waits for a line. `announce`: without a line editor (piped stdin),
   * print it as a line of its own, as the reference's `fmt.Println` did.
   */
  | { readonly kind: 'prompt'; readonly text: string; readonly announce: boolean; readonly secret?: true }
  /** Lines for the server, written at once (one write, one TCP segment when they fit). */
  | { readonly kind: 'send'; readonly lines: readonly string[] }
  /** The user is done: half-close the socket and wait for the server's last replies. */
  | { readonly kind: 'hangup' }
  /** The end: exit the process with this code. Always the last effect. */
  | { readonly kind: 'exit'; readonly code: number };

export const show = (text: string, tone: Tone = 'plain'): Effect => ({ kind: 'show', text, tone });
export const prompt = (text: string, announce = true): Effect => ({ kind: 'prompt', text, announce });
/**
 * A password prompt: the edge does not echo what is typed nor keep it in the line history, until
 * the next prompt. Never announced (piped input is not echoed anyway).
 */
export const secretPrompt = (text: string): Effect => ({ kind: 'prompt', text, announce: false, secret: true });
export const send = (...lines: string[]): Effect => ({ kind: 'send', lines });

/** One step of a mode's state machine: the next state, what to do, and whether the user quit. */
export interface Step<S> {
  readonly state: S;
  readonly effects: readonly Effect[];
  readonly quit?: boolean;
}

/** A mode (menu or chat): where it starts, and what each line the user enters does. */
export interface Mode<S> {
  readonly start: Step<S>;
  line(state: S, line: string): Step<S>;
}
