/**
 * Chat mode (`--chat`): one prompt; a plain line goes to everyone, slash commands do the rest
 * (read by ./commands, which the web page shares: `/who`, `/nick NAME`, `/msg NAME TEXT`,
 * `/history N`, `/register`, `/login NAME`, `/passwd`, `/logout`, `/quit`, `/help`; `//TEXT`
 * sends `/TEXT`).
 */
import { formatCommand } from '../protocol';
import { parseChatLine } from './commands';
import { Effect, Mode, Step, prompt, secretPrompt, send, show } from './effects';
import { privateMessage } from './menu';
import { ClientTexts } from './texts';

/**
 * Every line stands alone, except while passwords are asked for (`/register`, `/login NAME`,
 * `/passwd`): then the next lines are those passwords, never shown, never parsed as commands.
 */
export type ChatState =
  | null
  | { readonly asking: 'register'; readonly first?: string }
  | { readonly asking: 'login'; readonly name: string }
  | { readonly asking: 'passwd'; readonly old?: string; readonly first?: string };

export function chatMode(t: ClientTexts): Mode<ChatState> {
  const ready = prompt(t.chatPrompt, false);
  const usage = { nick: t.nickUsage, msg: t.msgUsage, history: t.historyUsage, register: t.registerUsage, login: t.loginUsage, passwd: t.passwdUsage };
  const step = (...effects: Effect[]): Step<ChatState> => ({ state: null, effects: [...effects, ready] });
  const ask = (state: ChatState, text: string): Step<ChatState> => ({ state, effects: [secretPrompt(text)] });

  /** A line typed at a password prompt: an empty one cancels; a new password is typed twice. */
  const password = (state: NonNullable<ChatState>, typed: string): Step<ChatState> => {
    if (typed === '') return step(show(t.passwordCancelled, 'notice'));
    switch (state.asking) {
      case 'login':
        return step(send(formatCommand({ kind: 'login', name: state.name, password: typed })));
      case 'register':
        if (state.first === undefined) return ask({ asking: 'register', first: typed }, t.passwordAgainPrompt);
        return typed === state.first ? step(send(formatCommand({ kind: 'register', password: typed }))) : step(show(t.passwordsDiffer, 'notice'));
      case 'passwd':
        if (state.old === undefined) return ask({ asking: 'passwd', old: typed }, t.newPasswordPrompt);
        if (state.first === undefined) return ask({ asking: 'passwd', old: state.old, first: typed }, t.passwordAgainPrompt);
        return typed === state.first ? step(send(formatCommand({ kind: 'passwd', old: state.old, password: typed }))) : step(show(t.passwordsDiffer, 'notice'));
    }
  };

  return {
    start: step(show(t.chatHint, 'notice')),
    line(state, line) {
      if (state !== null) return password(state, line);
      const command = parseChatLine(line);
      switch (command.kind) {
        case 'nothing':
          return step();
        case 'say':
          return step(send(formatCommand({ kind: 'say', text: command.text })));
        case 'who':
          return step(send(formatCommand({ kind: 'who' })));
        case 'rename':
          return step(send(formatCommand({ kind: 'rename', name: command.name })));
        case 'msg':
          return step(privateMessage(command.to, command.text));
        case 'history':
          // The reply (the lines, then `history|end`) is shown as it comes: see ./incoming.
          return step(send(formatCommand({ kind: 'history', count: command.count })));
        case 'register':
          return ask({ asking: 'register' }, t.passwordPrompt);
        case 'login':
          return ask({ asking: 'login', name: command.name }, t.passwordPrompt);
        case 'passwd':
          return ask({ asking: 'passwd' }, t.oldPasswordPrompt);
        case 'logout':
          return step(send(formatCommand({ kind: 'logout' })));
        case 'usage':
          return step(show(usage[command.command], 'notice'));
        case 'help':
          return step(...t.chatHelp.map((text) => show(text)));
        case 'quit':
          return { state: null, effects: [], quit: true };
        case 'unknown':
          return step(show(t.unknownCommand(command.command), 'notice'));
      }
    },
  };
}
