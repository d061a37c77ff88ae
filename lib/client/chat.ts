/**
 * Chat mode (`--chat`): one prompt; a plain line goes to everyone, slash commands do the rest
 * (`/who`, `/nick NAME`, `/msg NAME TEXT`, `/quit`, `/help`; `//TEXT` sends `/TEXT`).
 */
import { formatCommand } from '../protocol';
import { Effect, Mode, Step, prompt, send, show } from './effects';
import { privateMessage } from './menu';
import { ClientTexts } from './texts';

/** Chat mode has no state: every line stands alone. */
export type ChatState = null;

/** `/msg bob hi there` -> ['msg', 'bob', 'hi there']: command, first word, the rest verbatim. */
function words(line: string): [string, string, string] {
  const match = /^\/(\S*)\s*(\S*)\s*([\s\S]*)$/.exec(line.trim());
  return match ? [match[1], match[2], match[3]] : ['', '', ''];
}

export function chatMode(t: ClientTexts): Mode<ChatState> {
  const ready = prompt(t.chatPrompt, false);
  const step = (...effects: Effect[]): Step<ChatState> => ({ state: null, effects: [...effects, ready] });

  return {
    start: step(show(t.chatHint, 'notice')),
    line(_state, line) {
      if (line.trim() === '') return step();
      if (line.startsWith('//')) return step(send(formatCommand({ kind: 'say', text: line.slice(1) })));
      if (!line.trimStart().startsWith('/')) return step(send(formatCommand({ kind: 'say', text: line })));
      const [command, first, rest] = words(line);
      switch (command.toLowerCase()) {
        case 'who':
          return step(send(formatCommand({ kind: 'who' })));
        case 'nick':
        case 'name':
          if (first === '' || rest !== '') return step(show(t.nickUsage, 'notice'));
          return step(send(formatCommand({ kind: 'rename', name: first })));
        case 'msg':
          if (first === '' || rest === '') return step(show(t.msgUsage, 'notice'));
          return step(privateMessage(first, rest));
        case 'quit':
        case 'exit':
          return { state: null, effects: [], quit: true };
        case 'help':
          return step(...t.chatHelp.map((text) => show(text)));
        default:
          return step(show(t.unknownCommand(`/${command}`), 'notice'));
      }
    },
  };
}
