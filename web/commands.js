/*
 * Chat mode's reading of a typed line: the page's copy of lib/client/commands.ts (the terminal
 * client's), in plain JavaScript so the page needs no build step. spec/web/commands-copy.spec.ts
 * runs this file and the module on the same generated lines and requires the same results.
 */
(function (root) {
  'use strict';

  /**
   * typed line -> { kind: 'nothing' | 'say' (text) | 'who' | 'rename' (name) | 'msg' (to, text)
   * | 'history' (count) | 'register' | 'login' (name) | 'passwd' | 'logout'
   * | 'usage' (command: 'nick' | 'msg' | 'history' | 'register' | 'login' | 'passwd') | 'help' | 'quit'
   * | 'unknown' (command, slash included) }
   */
  function parseChatLine(line) {
    if (line.trim() === '') return { kind: 'nothing' };
    if (line.startsWith('//')) return { kind: 'say', text: line.slice(1) };
    if (!line.trimStart().startsWith('/')) return { kind: 'say', text: line };
    var match = /^\/(\S*)\s*(\S*)\s*([\s\S]*)$/.exec(line.trim());
    var command = match ? match[1] : '';
    var first = match ? match[2] : '';
    var rest = match ? match[3] : '';
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
        return { kind: 'unknown', command: '/' + command };
    }
  }

  var api = { parseChatLine: parseChatLine };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Commands = api;
})(this);
