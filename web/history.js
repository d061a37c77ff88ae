/*
 * Where the lines of a history reply (`history|N`, `since|ID`) go on the page: pure functions,
 * tested in node by spec/web/page-history.spec.ts. The page treats ids as opaque: it never
 * compares two ids, it only places each line next to its neighbours in the reply.
 */
(function (root) {
  'use strict';

  /**
   * The conversation lines received from a request to its `history|end` (items with an `id`,
   * in arrival order), and where each new one goes on the page.
   *
   * Live lines that came after the request but before the replay started are also in the
   * replay (the log holds every line before it is delivered), later and in log order: so the
   * last occurrence of an id is the one that counts, and the result is in log order.
   *
   * `isShown(id)` says whether the page shows the line already (it is skipped). Each new line
   * goes right after the one before it in the reply (shown before or just placed); the new
   * lines before the first one already shown go just before it. When none is shown: a 'first'
   * reply (the page has no logged line yet) goes at the top; a 'since' reply (what was missed
   * while disconnected) and a 'history' reply at the end: a reply ends with the newest line,
   * so if it reaches no line the page shows, all of it is newer (said since it was asked).
   * `earlier`: said before what the page showed ('first', and a 'history' reply's lines before
   * the first one shown); `isOwnJoin(item)` names the page's own join: from it on, lines were
   * said while the page was there, so they are not earlier.
   *
   * Returns { ordered: items in log order, once each,
   *           inserts: [{ item, at: 'top' | 'end' | 'before' | 'after', ref: id (before/after), earlier }] }
   */
  function plan(items, isShown, kind, isOwnJoin) {
    var last = new Map();
    items.forEach(function (item, i) {
      last.set(item.id, i);
    });
    var ordered = items.filter(function (item, i) {
      return last.get(item.id) === i;
    });
    var anchor = null;
    for (var i = 0; i < ordered.length && anchor === null; i++) if (isShown(ordered[i].id)) anchor = ordered[i].id;
    var inserts = [];
    var prev = null; // the line before, in log order, that is on the page (or will be)
    var beforeAnchor = true;
    var older = kind === 'first' || (kind === 'history' && anchor !== null);
    ordered.forEach(function (item) {
      if (isOwnJoin && isOwnJoin(item)) older = false;
      if (isShown(item.id)) {
        prev = item.id;
        beforeAnchor = false;
        return;
      }
      var earlier = older && beforeAnchor;
      if (prev !== null) inserts.push({ item: item, at: 'after', ref: prev, earlier: earlier });
      else if (anchor !== null) inserts.push({ item: item, at: 'before', ref: anchor, earlier: earlier });
      else inserts.push({ item: item, at: kind === 'first' ? 'top' : 'end', earlier: earlier });
      prev = item.id;
    });
    return { ordered: ordered, inserts: inserts };
  }

  /**
   * The untagged conversation lines a new connection got before `cap|ack|tags` (its own join,
   * and whatever was said in that round trip) that the reply does not hold: with a log, all of
   * them are in it (tagged, with their real times), so none is left; without one, all are.
   * `plain`: items with the `line` as received; `replayed`: the reply's lines without their
   * tags; each line of the reply accounts for one plain line at most.
   */
  function unmatched(plain, replayed) {
    var counts = new Map();
    replayed.forEach(function (line) {
      counts.set(line, (counts.get(line) || 0) + 1);
    });
    return plain.filter(function (item) {
      var n = counts.get(item.line) || 0;
      if (n === 0) return true;
      counts.set(item.line, n - 1);
      return false;
    });
  }

  var api = { plan: plan, unmatched: unmatched };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Replay = api;
})(this);
