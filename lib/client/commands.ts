/**
 * Chat mode's reading of a typed line, shared by the terminal client (lib/client/chat.ts) and
 * the web page, whose copy is web/commands.js (spec/web/commands-copy.spec.ts keeps the two equal).
 */

/** What a typed line asks for; each edge carries it out its own way. */
export type ChatCommand =
  | { readonly kind: 'nothing' }
  | { readonly kind: 'say'; readonly text: string }
  | { readonly kind: 'who' }
  | { readonly kind: 'rename'; readonly name: string }
  | { readonly kind: 'msg'; readonly to: string; readonly text: string }
  /** `/history N`: the last N lines said (N a whole number from 1; the server caps it). */
  | { readonly kind: 'history'; readonly count: number }
  /** `/register`: registers the current name; the password is asked for, twice, without echo. */
  | { readonly kind: 'register' }
  /** `/login NAME`: the password is asked for without echo. */
  | { readonly kind: 'login'; readonly name: string }
  /** `/passwd`: the old and the new password are asked for without echo. */
  | { readonly kind: 'passwd' }
  | { readonly kind: 'logout' }
  | { readonly kind: 'usage'; readonly command: 'nick' | 'msg' | 'history' | 'register' | 'login' | 'passwd' }
  | { readonly kind: 'help' }
  | { readonly kind: 'quit' }
  /** `command` as typed, slash included: `/frob`. */
  | { readonly kind: 'unknown'; readonly command: string };

/**
 * A blank line is nothing; `//TEXT` says `/TEXT`; a line whose first non-blank character is
 * not `/` is said verbatim; otherwise `/command first rest` (leading blanks ignored, the
 * command's case too): `/who`, `/nick NAME` or `/name NAME` (exactly one word), `/msg NAME TEXT`
 * (the text from its first non-blank character to its last), `/history N` (N digits, 1 or more,
 * nothing after it), `/help`, `/quit` or `/exit`; `/register`, `/login NAME`, `/passwd` (nothing
 * more: a password typed on the command line would be shown and kept in the history) and `/logout`.
 */
export function parseChatLine(line: string): ChatCommand {
  if (line.trim() === '') return { kind: 'nothing' };
  if (line.startsWith('//')) return { kind: 'say', text: line.slice(1) };
  if (!line.trimStart().startsWith('/')) return { kind: 'say', text: line };
  const match = /^\/(\S*)\s*(\S*)\s*([\s\S]*)$/.exec(line.trim());
  const [command, first, rest] = match ? [match[1], match[2], match[3]] : ['', '', ''];
  switch (command.toLowerCase()) {
    case 'who':
      return { kind: 'who' };
    case 'nick':
    case 'name':
      return first === '' || rest !== '' ? { kind: 'usage', command: 'nick' } : { kind: 'rename', name: first };
    case 'msg':
      return first === '' || rest === '' ? { kind: 'usage', command: 'msg' } : { kind: 'msg', to: first, text: rest };
    case 'history':
      return /^[1-9]\d{0,8}$/.test(first) && rest === '' ? { kind: 'history', count: Number(first) } : { kind: 'usage', command: 'history' };
    case 'register':
      return first === '' ? { kind: 'register' } : { kind: 'usage', command: 'register' };
    case 'login':
      return first === '' || rest !== '' ? { kind: 'usage', command: 'login' } : { kind: 'login', name: first };
    case 'passwd':
      return first === '' ? { kind: 'passwd' } : { kind: 'usage', command: 'passwd' };
    case 'logout':
      return { kind: 'logout' };
    case 'help':
      return { kind: 'help' };
    case 'quit':
    case 'exit':
      return { kind: 'quit' };
    default:
      return { kind: 'unknown', command: `/${command}` };
  }
}
