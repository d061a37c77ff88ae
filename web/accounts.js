/*
 * The page's reading of the accounts' replies (register|, login|, passwd|, logout), and which
 * request each one answers. Pure; tested in node by spec/web/page-accounts.spec.ts against the
 * server's own texts (lib/web/site.ts sends them in /config.json as texts.accounts).
 */
(function (root) {
  'use strict';

  // Most specific first: `nameRegistered` also begins as `alreadyRegistered` does.
  var ORDER = [
    'nameRegistered',
    'alreadyRegistered',
    'registered',
    'loggedInElsewhere',
    'loggedOut',
    'loggedIn',
    'nameReclaimed',
    'renameWhileLoggedIn',
    'offlineKept',
    'tooManyAttempts',
    'authNeedsTls',
    'registerNeedsName',
    'passwordInvalid',
    'loginFailed',
    'notLoggedIn',
    'passwordChanged',
    'wrongPassword',
    'accountsUnavailable',
    'accountsOff',
    'usageRegister',
    'usageLogin',
    'usagePasswd',
  ];
  // Codes whose gap is a number (minutes, a port); the others' gaps are names or addresses.
  var NUMERIC = { tooManyAttempts: true, authNeedsTls: true };
  // What the gaps are, in order.
  var GAPS = {
    nameRegistered: ['name', 'name'],
    alreadyRegistered: ['name'],
    registered: ['name'],
    loggedInElsewhere: ['addr'],
    loggedOut: ['addr'],
    loggedIn: ['name'],
    nameReclaimed: ['name', 'addr'],
    renameWhileLoggedIn: ['name'],
    offlineKept: ['name'],
    tooManyAttempts: ['minutes'],
    authNeedsTls: ['port'],
  };

  /**
   * The request kinds each reply can answer. Replies come in the order the requests were sent
   * (the server answers one command after the other), so a reply that answers the oldest
   * request still waiting is its answer. `nameTaken` answers a login whose name another
   * node's user took meanwhile.
   */
  var ANSWERS = {
    register: [
      'registered',
      'alreadyRegistered',
      'passwordInvalid',
      'registerNeedsName',
      'authNeedsTls',
      'accountsUnavailable',
      'accountsOff',
      'usageRegister',
    ],
    login: ['loggedIn', 'loginFailed', 'tooManyAttempts', 'authNeedsTls', 'accountsUnavailable', 'accountsOff', 'nameTaken', 'usageLogin'],
    passwd: [
      'passwordChanged',
      'wrongPassword',
      'tooManyAttempts',
      'notLoggedIn',
      'passwordInvalid',
      'authNeedsTls',
      'accountsUnavailable',
      'accountsOff',
      'usagePasswd',
    ],
    logout: ['loggedOut', 'notLoggedIn', 'accountsOff'],
  };

  // The replies that say a request went through; every other one is a refusal or bad news.
  var DONE = { registered: true, loggedIn: true, loggedOut: true, passwordChanged: true, offlineKept: true };

  /**
   * The gap values of `line` in a text of fixed `parts` (n parts, n - 1 gaps), or null. A gap is
   * digits (a number) or a name or an address: not empty, no whitespace. With two gaps, the second starts after the last
   * occurrence of the middle part: the second gap (an address, or a name again) holds no `|`
   * and no words of the texts.
   */
  function fit(line, parts, numeric) {
    var first = parts[0];
    var last = parts[parts.length - 1];
    if (parts.length === 1) return line === first ? [] : null;
    if (line.length < first.length + last.length + parts.length - 1) return null;
    if (line.slice(0, first.length) !== first || line.slice(line.length - last.length) !== last) return null;
    var inner = line.slice(first.length, line.length - last.length);
    var gaps;
    if (parts.length === 2) gaps = [inner];
    else if (parts.length === 3) {
      var at = inner.lastIndexOf(parts[1]);
      if (at < 0) return null;
      gaps = [inner.slice(0, at), inner.slice(at + parts[1].length)];
    } else return null;
    for (var i = 0; i < gaps.length; i++) {
      if (!(numeric ? /^\d+$/ : /^\S+$/).test(gaps[i])) return null;
    }
    return gaps;
  }

  /**
   * What a notice from the server means for the accounts, or null when it is none of theirs.
   * `texts`: /config.json's texts.accounts. Returns { code, name?, addr?, minutes?, port? }.
   */
  function read(line, texts) {
    if (!texts) return null;
    for (var i = 0; i < ORDER.length; i++) {
      var code = ORDER[i];
      var forms = texts[code] || [];
      for (var j = 0; j < forms.length; j++) {
        var gaps = fit(line, forms[j], NUMERIC[code] === true);
        if (gaps === null) continue;
        var reading = { code: code };
        var names = GAPS[code] || [];
        for (var k = 0; k < gaps.length && k < names.length; k++) {
          reading[names[k]] = NUMERIC[code] ? Number(gaps[k]) : gaps[k];
        }
        return reading;
      }
    }
    return null;
  }

  /** Whether a reply with this code answers a request of this kind. */
  function answers(kind, code) {
    var codes = ANSWERS[kind];
    return codes !== undefined && codes.indexOf(code) !== -1;
  }

  /** Whether a reply with this code is a refusal or bad news (shown as an alert). */
  function failed(code) {
    return DONE[code] !== true;
  }

  /**
   * A line typed in the message box that is an account command in the protocol's own words
   * (`login|NAME|PASSWORD`...): its kind, as lib/protocol.ts reads it, or null.
   */
  function rawKind(line) {
    if (line === 'logout') return 'logout';
    var m = /^(register|login|passwd)\|/.exec(line);
    return m ? m[1] : null;
  }

  var api = { read: read, answers: answers, failed: failed, rawKind: rawKind };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Accounts = api;
})(this);
