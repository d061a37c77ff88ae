/*
 * The page's reading of the line protocol: one server line -> what it means. Pure; tested in
 * node by spec/web/page-protocol.spec.ts against the server's own texts.
 */
(function (root) {
  'use strict';

  // `[addr]rest`; an IPv6 address is itself bracketed: `[[::1]:5000]rest`.
  var USER_LINE = /^\[(\[[0-9A-Fa-f:.%]*\]:\d+|[^\]]*)\]([\s\S]*)$/;
  // `SENDER : TEXT`: names hold no whitespace.
  var PRIVATE = /^(\S+) : ([\s\S]*)$/;
  // `@id=ID;time=TIME ` before a conversation line, once `cap|tags` is acknowledged. Strict: no
  // name can forge it (a name is at most 32 characters, the shortest tag 35).
  var TAG = /^@id=([0-9A-Za-z._-]+);time=(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) /;
  var MARKERS = { 'history|end': 'end', 'history|truncated': 'truncated', 'history|unknown': 'unknown' };
  var CAP = /^cap\|(ack|nak)\|([\s\S]*)$/;

  function between(line, template) {
    var before = template[0];
    var after = template[1];
    if (line.length < before.length + after.length) return undefined;
    if (line.slice(0, before.length) !== before) return undefined;
    if (line.slice(line.length - after.length) !== after) return undefined;
    return line.slice(before.length, line.length - after.length);
  }

  function endsWith(s, suffix) {
    return s.length >= suffix.length && s.slice(s.length - suffix.length) === suffix;
  }

  /** A tagged line's id, time and the line under the tag; null for an untagged line. */
  function untag(line) {
    var m = TAG.exec(line);
    return m ? { id: m[1], time: m[2], line: line.slice(m[0].length) } : null;
  }

  /**
   * What a line from the server means. `names` maps an address to the name last seen for it
   * (the protocol never announces renames: a user's lines carry its current name);
   * `awaitingWho` says whether a `who` reply is expected, since `[addr]name:在线...` is also
   * what a user saying "在线..." looks like.
   *
   * Returns { kind: 'join' | 'leave' | 'who' | 'say', addr, name, text }
   *       | { kind: 'private', from, text } | { kind: 'renamed', name }
   *       | { kind: 'notice', code, text }   (code: a key of texts, or 'other')
   *       | { kind: 'history', marker: 'end' | 'truncated' | 'unknown' }
   *       | { kind: 'cap', ack: boolean, name }
   * A tagged line (join, leave, say, private) is read without its tag, which adds `id` and
   * `time` (ISO 8601) to the result; it is never a `who` reply (replies carry no tag).
   * A plain message that happens to read like an announcement (a user saying "已下线") looks
   * the same on the wire as one: the protocol cannot tell them apart, so neither can this.
   */
  function readLine(line, texts, names, awaitingWho) {
    var tag = untag(line);
    if (tag) {
      var read = readLine(tag.line, texts, names, false);
      read.id = tag.id;
      read.time = tag.time;
      return read;
    }
    if (MARKERS[line]) return { kind: 'history', marker: MARKERS[line] };
    var cap = CAP.exec(line);
    if (cap) return { kind: 'cap', ack: cap[1] === 'ack', name: cap[2] };
    var m = USER_LINE.exec(line);
    if (m) {
      var addr = m[1];
      var rest = m[2];
      if (rest === addr + ':' + texts.online) return { kind: 'join', addr: addr, name: addr, text: texts.online };
      var known = names && names.get(addr);
      var suffixes = [['leave', texts.offline]];
      if (awaitingWho) suffixes.push(['who', texts.listed]);
      for (var i = 0; i < suffixes.length; i++) {
        var suffix = ':' + suffixes[i][1];
        if (endsWith(rest, suffix) && rest.length > suffix.length) {
          var named = rest.slice(0, rest.length - suffix.length);
          return { kind: suffixes[i][0], addr: addr, name: named, text: suffixes[i][1] };
        }
      }
      var name;
      if (known !== undefined && rest.slice(0, known.length + 1) === known + ':') name = known;
      else if (rest.slice(0, addr.length + 1) === addr + ':') name = addr;
      else name = rest.slice(0, Math.max(0, rest.indexOf(':')));
      return { kind: 'say', addr: addr, name: name, text: rest.slice(name.length + 1) };
    }
    // A private line has " : " after a name without whitespace, which no notice has.
    var p = PRIVATE.exec(line);
    if (p) return { kind: 'private', from: p[1], text: p[2] };
    var exact = [
      'kicked',
      'floodKick',
      'shutdown',
      'serverFull',
      'tooManyFromAddress',
      'nameTaken',
      'privateFormat',
      'lineTooLong',
      'clusterDegraded',
      'clusterRestored',
      'historyLost',
    ];
    for (var j = 0; j < exact.length; j++) {
      if (texts[exact[j]] !== undefined && line === texts[exact[j]]) return { kind: 'notice', code: exact[j], text: line };
    }
    var renamed = between(line, texts.renamed);
    if (renamed !== undefined && renamed !== '') return { kind: 'renamed', name: renamed };
    if (texts.nameLost && between(line, [texts.nameLost[0], texts.nameLost[2]]) !== undefined && line.indexOf(texts.nameLost[1]) !== -1) {
      return { kind: 'notice', code: 'nameLost', text: line };
    }
    if (between(line, texts.noSuchUser) !== undefined) return { kind: 'notice', code: 'noSuchUser', text: line };
    return { kind: 'notice', code: 'other', text: line };
  }

  /** The UTF-8 length of a string, as the server counts a line. */
  function utf8Length(s) {
    return new TextEncoder().encode(s).length;
  }

  var api = { readLine: readLine, untag: untag, utf8Length: utf8Length };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Protocol = api;
})(this);
