/*
 * What "idle" means for the web page: the server kicks a connection silent for its idle timeout
 * (nc users included, as the reference does); the page keeps a reader in by sending an empty
 * line (activity that is never broadcast) while a person is there, and lets an abandoned tab
 * go. Plain JavaScript on an injected clock; spec/web/keepalive.spec.ts runs it in virtual time.
 */
(function (root) {
  'use strict';

  /**
   * A person is there while the tab is visible and they touched the page (key, pointer, wheel,
   * touch, window focus, bringing the tab back) within this long. Ten minutes: long enough to
   * read a conversation without touching anything; about when an unattended desktop locks its
   * screen, and when chat apps show someone as away. A visible tab nobody touched for longer
   * is abandoned: its keep-alives stop and the server frees it one idle timeout later.
   */
  var PRESENCE_MS = 10 * 60 * 1000;
  /** The server's default, for a server that does not say its own in /config.json. */
  var DEFAULT_IDLE_TIMEOUT_MS = 60 * 1000;
  /** How much sooner than the timeout the page speaks: network delay, a late timer, a busy tab. */
  var SLACK_MS = 15 * 1000;

  /** The longest silence the page allows itself: 45 s for the default 60 s, half of a short one. */
  function intervalFor(idleTimeoutMs) {
    return Math.max(idleTimeoutMs / 2, idleTimeoutMs - SLACK_MS);
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
   * page: { visible(): boolean, send(): void } (send writes one empty line). options.presenceMs
   * overrides PRESENCE_MS. Returns:
   * - start(idleTimeoutMs): a connection is open (counts as a line sent: the page speaks at once);
   * - stop(): it closed;
   * - sent(): the page sent a line of its own (a message, a command): the silence restarts;
   * - interacted(): a person touched the page, or brought the tab back into view.
   * Creating it counts as an interaction: someone just opened the page.
   */
  function keepAlive(options, page, clock) {
    clock = clock || realClock;
    var presenceMs = options.presenceMs === undefined ? PRESENCE_MS : options.presenceMs;
    var intervalMs = intervalFor(DEFAULT_IDLE_TIMEOUT_MS);
    var lastInteraction = clock.now();
    var lastSent = 0;
    var running = false;
    var cancel = null; // the pending check; null while stopped or dormant (nobody there)

    function present() {
      return page.visible() && clock.now() - lastInteraction < presenceMs;
    }

    function disarm() {
      if (cancel) cancel();
      cancel = null;
    }

    function arm() {
      disarm();
      cancel = clock.schedule(due, Math.max(0, lastSent + intervalMs - clock.now()));
    }

    function due() {
      cancel = null;
      // Nobody there: say nothing, and wait (without a timer) for someone to come back.
      if (!running || !present()) return;
      lastSent = clock.now();
      page.send();
      arm();
    }

    return {
      start: function (idleTimeoutMs) {
        intervalMs = intervalFor(idleTimeoutMs > 0 ? idleTimeoutMs : DEFAULT_IDLE_TIMEOUT_MS);
        running = true;
        lastSent = clock.now();
        arm();
      },
      stop: function () {
        running = false;
        disarm();
      },
      sent: function () {
        lastSent = clock.now();
        if (running) arm();
      },
      interacted: function () {
        lastInteraction = clock.now();
        // Back from being away: speak now if the silence is already long, else when it will be.
        if (running && cancel === null) arm();
      },
    };
  }

  var api = {
    PRESENCE_MS: PRESENCE_MS,
    DEFAULT_IDLE_TIMEOUT_MS: DEFAULT_IDLE_TIMEOUT_MS,
    intervalFor: intervalFor,
    keepAlive: keepAlive,
  };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.KeepAlive = api;
})(this);
