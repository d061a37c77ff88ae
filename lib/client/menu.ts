/**
 * Menu mode: the Go reference client's flows and texts as a pure state machine, one user
 * line at a time. Its defects are fixed: whole lines are sent (the reference's `Scanln` cut a
 * message at its first space), an empty line never exits (the reference's zero-valued flag
 * did), and an empty name or target is never sent.
 */
import { formatCommand } from '../protocol';
import { Effect, Mode, Step, prompt, send, show } from './effects';
import { ClientTexts } from './texts';

export type MenuState =
  | { readonly at: 'menu' }
  | { readonly at: 'public' }
  | { readonly at: 'rename' }
  | { readonly at: 'target' }
  | { readonly at: 'private'; readonly target: string };

const EXIT = 'exit';

/**
 * A private message ends with an empty line, as the reference client sent it: the reference
 * server takes one read as one line minus its last byte, so "to|a|b\n\n" is how a private
 * message reaches the other side with its newline. Our server ignores the empty line.
 */
export function privateMessage(target: string, text: string): Effect {
  return send(formatCommand({ kind: 'to', name: target, text }), '');
}

export function menuMode(t: ClientTexts): Mode<MenuState> {
  const menu = (before: readonly Effect[] = []): Step<MenuState> => ({
    state: { at: 'menu' },
    effects: [...before, ...t.menu.map((line) => show(line)), prompt(t.menuPrompt, false)],
  });
  const at = (state: MenuState, ...effects: Effect[]): Step<MenuState> => ({ state, effects });
  const who = send(formatCommand({ kind: 'who' }));

  return {
    start: menu(),
    line(state, line) {
      const word = line.trim();
      switch (state.at) {
        case 'menu':
          switch (word) {
            case '1':
              return at({ at: 'public' }, show(t.publicMode), prompt(t.publicPrompt));
            case '2':
              return at({ at: 'target' }, show(t.privateMode), who, prompt(t.targetPrompt));
            case '3':
              return at({ at: 'rename' }, prompt(t.renamePrompt));
            case '0':
              return { state, effects: [], quit: true };
            default:
              return menu([show(t.badChoice, 'notice')]);
          }
        case 'public':
          if (word === EXIT) return menu();
          return at(state, ...(word === '' ? [] : [send(formatCommand({ kind: 'say', text: line }))]), prompt(t.publicPrompt));
        case 'rename':
          return menu(word === '' ? [] : [send(formatCommand({ kind: 'rename', name: word }))]);
        case 'target':
          if (word === EXIT) return menu();
          if (word === '') return at(state, prompt(t.targetPrompt));
          return at({ at: 'private', target: word }, prompt(t.firstMessagePrompt));
        case 'private':
          if (word === EXIT) return at({ at: 'target' }, who, prompt(t.targetPrompt));
          return at(state, ...(word === '' ? [] : [privateMessage(state.target, line)]), prompt(t.messagePrompt));
      }
    },
  };
}
