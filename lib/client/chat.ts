/**
 * Chat mode (`--chat`): one prompt; a plain line goes to everyone, slash commands do the rest
 * (read by ./commands, which the web page shares: `/who`, `/nick NAME`, `/msg NAME TEXT`,
 * `/history N`, `/quit`, `/help`; `//TEXT` sends `/TEXT`).
 */
import { formatCommand } from '../protocol';
import { parseChatLine } from './commands';
import { Effect, Mode, Step, prompt, send, show } from './effects';
import { privateMessage } from './menu';
import { ClientTexts } from './texts';

/** Chat mode has no state: every line stands alone. */
export type ChatState = null;

export function chatMode(t: ClientTexts): Mode<ChatState> {
  const ready = prompt(t.chatPrompt, false);
  const usage = { nick: t.nickUsage, msg: t.msgUsage, history: t.historyUsage };
  const step = (...effects: Effect[]): Step<ChatState> => ({ state: null, effects: [...effects, ready] });

  return {
    start: step(show(t.chatHint, 'notice')),
    line(_state, line) {
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
