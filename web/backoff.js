/*
 * Reconnect with exponential back-off: the page's copy of lib/web/backoff.ts, in plain
 * callbacks so the page needs no RxJS and no build step. spec/web/backoff-copy.spec.ts runs
 * this file and the TypeScript module through the same scenarios in virtual time.
 */
(function (root) {
  'use strict';

  var PAGE_BACKOFF = { initialMs: 500, factor: 2, maxMs: 15000, jitter: 0.5, stableMs: 5000 };

  /** The delay before retry number `failures` (1 for the first failure). */
  function backoffDelay(failures, options) {
    var random = options.random || Math.random;
    var base = Math.min(options.maxMs, options.initialMs * Math.pow(options.factor, failures - 1));
    return Math.round(base * (1 - options.jitter * random()));
  }

  var realClock = {
    now: function () {
      return Date.now();
    },
    schedule: function (fn, ms) {
      var id = setTimeout(fn, ms);
      return function () {
        clearTimeout(id);
      };
    },
  };

  /**
   * connect(link) opens a link and returns a function that closes it; the link reports
   * link.value(v) while up, link.error(e) when it drops (a retry follows), link.complete()
   * when it ended for good. observer gets value(v), retry({attempt, delayMs, error}),
   * error(e) (after maxRetries) and complete(). Returns { stop() }.
   */
  function reconnect(connect, options, observer, clock) {
    clock = clock || realClock;
    var failures = 0;
    var upSince;
    var closeLink;
    var cancelTimer;
    var stopped = false;

    function attempt() {
      cancelTimer = undefined;
      upSince = undefined;
      var done = false;
      closeLink = connect({
        value: function (v) {
          if (done || stopped) return;
          if (upSince === undefined) upSince = clock.now();
          observer.value(v);
        },
        error: function (e) {
          if (done || stopped) return;
          done = true;
          if (upSince !== undefined && clock.now() - upSince >= options.stableMs) failures = 0;
          failures++;
          var max = options.maxRetries === undefined ? Infinity : options.maxRetries;
          if (failures > max) {
            stopped = true;
            observer.error(e);
            return;
          }
          var delayMs = backoffDelay(failures, options);
          observer.retry({ attempt: failures, delayMs: delayMs, error: e });
          if (!stopped) cancelTimer = clock.schedule(attempt, delayMs);
        },
        complete: function () {
          if (done || stopped) return;
          done = true;
          stopped = true;
          observer.complete();
        },
      });
    }

    attempt();
    return {
      stop: function () {
        stopped = true;
        if (cancelTimer) cancelTimer();
        if (closeLink) closeLink();
      },
    };
  }

  var api = { PAGE_BACKOFF: PAGE_BACKOFF, backoffDelay: backoffDelay, reconnect: reconnect };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.Backoff = api;
})(this);
