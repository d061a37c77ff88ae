/*
 * The web chat page: one WebSocket, one protocol line per frame, the same commands as the
 * terminal client's chat mode. Every text from the network goes into the page with
 * textContent, never as HTML.
 */
(function () {
  'use strict';

  var UI = {
    zh: {
      title: '聊天',
      connecting: '正在连接…',
      connected: '已连接',
      reconnected: '已重新连接',
      lost: '连接已断开',
      retryIn: function (s, n) { return '连接已断开，' + s + ' 秒后重连（第 ' + n + ' 次）'; },
      ended: '连接已结束',
      reconnect: '重新连接',
      send: '发送',
      placeholder: '说点什么…（/help 查看命令）',
      people: function (n) { return '在线（' + n + '）'; },
      you: '（你）',
      renameLabel: '改名',
      rename: '改名',
      privateTo: function (name) { return '私聊 ' + name; },
      cancelPrivate: '取消私聊',
      privateBadge: '私聊',
      notConnected: '未连接，消息未发送',
      unknownCommand: function (c) { return '未知命令：' + c + '（/help 查看命令）'; },
      help: '命令：/who 在线用户 · /nick（或 /name）名字 改名 · /msg 名字 内容 私聊 · /quit（或 /exit）断开 · //… 发送以 / 开头的消息 · 点击用户名可私聊',
      usage: { nick: '用法：/nick 名字', msg: '用法：/msg 名字 内容' },
      clickToMessage: '点击私聊',
    },
    en: {
      title: 'Chat',
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnected: 'Reconnected',
      lost: 'Connection lost',
      retryIn: function (s, n) { return 'Connection lost, retrying in ' + s + ' s (attempt ' + n + ')'; },
      ended: 'Disconnected',
      reconnect: 'Reconnect',
      send: 'Send',
      placeholder: 'Say something… (/help for commands)',
      people: function (n) { return 'Online (' + n + ')'; },
      you: ' (you)',
      renameLabel: 'Change your name',
      rename: 'Rename',
      privateTo: function (name) { return 'Private to ' + name; },
      cancelPrivate: 'Cancel private message',
      privateBadge: 'private',
      notConnected: 'Not connected: message not sent',
      unknownCommand: function (c) { return 'Unknown command: ' + c + ' (/help for commands)'; },
      help: 'Commands: /who online users · /nick (or /name) NAME rename · /msg NAME TEXT private message · /quit (or /exit) disconnect · //… send a line starting with / · click a name to message it',
      usage: { nick: 'Usage: /nick NAME', msg: 'Usage: /msg NAME TEXT' },
      clickToMessage: 'Click to send a private message',
    },
  };

  var MAX_ENTRIES = 1000; // the log keeps this many lines: a long session stays light
  var WHO_QUIET_MS = 150; // a who reply is one burst: this much silence ends it
  var NAME_KEY = 'rx-im-name';

  var $ = function (id) { return document.getElementById(id); };
  var els = {
    status: $('status'), reconnect: $('reconnect'), log: $('log'), send: $('send'), text: $('text'),
    sendButton: $('send-button'), target: $('target'), targetLabel: $('target-label'), targetClear: $('target-clear'),
    people: $('people'), peopleTitle: $('people-title'), users: $('users'), rename: $('rename'),
    newName: $('new-name'), renameLabel: $('rename-label'), renameButton: $('rename-button'), chatTitle: $('chat-title'),
  };

  var config = null; // from /config.json: the server's language, texts and line limit
  var ui = UI.zh;
  var ws = null;
  var loop = null; // the reconnect loop (Backoff.reconnect)
  var final = false; // the server ended us (kick) or the user quit: do not reconnect
  var everConnected = false;
  var me = { addr: null, name: null };
  var users = new Map(); // addr -> name, in the order they joined
  var who = null; // { seen: Map addr -> name, show: boolean, timer } while a who reply is expected
  var target = null; // name private messages go to
  var unread = 0;

  // ---- the page's chrome, in the server's language ----

  function applyLanguage() {
    ui = UI[config && config.lang] || UI.zh;
    document.documentElement.lang = config ? config.lang : 'zh';
    els.chatTitle.textContent = ui.title;
    els.text.placeholder = ui.placeholder;
    els.sendButton.textContent = ui.send;
    els.reconnect.textContent = ui.reconnect;
    els.renameLabel.textContent = ui.renameLabel;
    els.renameButton.textContent = ui.rename;
    els.targetClear.title = ui.cancelPrivate;
    els.targetClear.setAttribute('aria-label', ui.cancelPrivate);
    if (config) els.text.maxLength = config.maxLineBytes; // characters, a first bound; bytes are checked on send
    renderUsers();
    renderTarget();
  }

  function setStatus(text, state) {
    els.status.textContent = text;
    els.status.dataset.state = state;
    els.reconnect.hidden = state !== 'ended';
  }

  function updateTitle() {
    document.title = (unread > 0 ? '(' + unread + ') ' : '') + 'rx-im';
  }

  function away() {
    return document.hidden || !document.hasFocus();
  }

  function seen() {
    if (!away() && unread > 0) {
      unread = 0;
      updateTitle();
    }
  }

  // ---- the conversation ----

  function clock() {
    var d = new Date();
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return { text: pad(d.getHours()) + ':' + pad(d.getMinutes()), iso: d.toISOString() };
  }

  /** Appends one entry; kind styles it (say, mine, private, event, notice, alert). */
  function addEntry(kind, from, text, extra) {
    var atBottom = els.log.scrollHeight - els.log.scrollTop - els.log.clientHeight < 40;
    var li = document.createElement('li');
    li.className = 'entry ' + kind;
    var t = clock();
    var time = document.createElement('time');
    time.dateTime = t.iso;
    time.textContent = t.text;
    li.appendChild(time);
    if (extra && extra.badge) {
      var badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = extra.badge;
      li.appendChild(badge);
    }
    if (from !== null) {
      var sender = document.createElement(extra && extra.replyTo ? 'button' : 'span');
      sender.className = 'from';
      sender.textContent = from;
      if (extra && extra.addr) sender.title = extra.addr;
      if (extra && extra.replyTo) {
        sender.type = 'button';
        sender.title = (extra.addr ? extra.addr + ' · ' : '') + ui.clickToMessage;
        sender.addEventListener('click', function () { setTarget(extra.replyTo); });
      }
      li.appendChild(sender);
    }
    var body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.appendChild(body);
    els.log.appendChild(li);
    while (els.log.childElementCount > MAX_ENTRIES) els.log.removeChild(els.log.firstElementChild);
    if (atBottom) els.log.scrollTop = els.log.scrollHeight;
    if ((kind === 'say' || kind === 'private') && away()) {
      unread++;
      updateTitle();
    }
  }

  function notice(text, alert) {
    addEntry(alert ? 'notice alert' : 'notice', null, text);
  }

  // ---- who is online ----

  function renderUsers() {
    els.peopleTitle.textContent = ui.people(users.size);
    var list = document.createDocumentFragment();
    users.forEach(function (name, addr) {
      var li = document.createElement('li');
      var button = document.createElement('button');
      button.type = 'button';
      button.className = 'user' + (addr === me.addr ? ' self' : '') + (name === target ? ' selected' : '');
      button.textContent = name;
      button.title = addr === me.addr ? addr : addr + ' · ' + ui.clickToMessage;
      if (addr === me.addr) {
        var you = document.createElement('span');
        you.className = 'you';
        you.textContent = ui.you;
        button.appendChild(you);
        button.addEventListener('click', function () { els.newName.focus(); });
      } else {
        button.addEventListener('click', function () { setTarget(name); });
      }
      li.appendChild(button);
      list.appendChild(li);
    });
    els.users.replaceChildren(list);
  }

  function expectWho(show) {
    if (who) clearTimeout(who.timer);
    who = { seen: new Map(), show: show, timer: setTimeout(endWho, 2000) };
  }

  function endWho() {
    if (!who) return;
    clearTimeout(who.timer);
    var listed = who.seen;
    who = null;
    // The reply lists everyone, in the order they joined: it replaces the panel.
    if (listed.size > 0) {
      users = listed;
      renderUsers();
    }
  }

  // ---- private messages ----

  function setTarget(name) {
    target = name;
    renderTarget();
    renderUsers();
    els.text.focus();
  }

  function renderTarget() {
    els.target.hidden = target === null;
    els.targetLabel.textContent = target === null ? '' : ui.privateTo(target);
    els.send.classList.toggle('private', target !== null);
  }

  // ---- lines from the server ----

  function onLine(line) {
    var m = Protocol.readLine(line, config.texts, users, who !== null);
    // Another line after the reply began ends it (our own join line comes before it).
    if (who && who.seen.size > 0 && m.kind !== 'who') endWho();
    switch (m.kind) {
      case 'join':
        if (me.addr === null) me.addr = m.addr; // a newcomer's first line is its own join
        users.set(m.addr, m.name);
        renderUsers();
        addEntry('event', m.name, m.text, { addr: m.addr });
        break;
      case 'leave':
        users.delete(m.addr);
        renderUsers();
        addEntry('event', m.name, m.text, { addr: m.addr });
        break;
      case 'who':
        who.seen.set(m.addr, m.name);
        if (m.addr === me.addr) me.name = m.name;
        if (who.show) addEntry('event', m.name, m.text, { addr: m.addr });
        clearTimeout(who.timer);
        who.timer = setTimeout(endWho, WHO_QUIET_MS);
        break;
      case 'say':
        // A name is learnt from what its owner says: the protocol does not announce renames.
        if (users.get(m.addr) !== m.name) {
          users.set(m.addr, m.name);
          renderUsers();
        }
        var mine = m.addr === me.addr;
        addEntry(mine ? 'say mine' : 'say', m.name, m.text, { addr: m.addr, replyTo: mine ? null : m.name });
        break;
      case 'private':
        addEntry('private', m.from, m.text, { badge: ui.privateBadge, replyTo: m.from });
        break;
      case 'renamed':
        me.name = m.name;
        sessionStorage.setItem(NAME_KEY, m.name);
        if (me.addr !== null) users.set(me.addr, m.name);
        renderUsers();
        notice(line);
        break;
      case 'notice':
        if (m.code === 'kicked' || m.code === 'floodKick') final = true; // the server ended us: stay out
        if (m.code === 'nameLost' && me.addr !== null) {
          me.name = me.addr;
          sessionStorage.removeItem(NAME_KEY);
          users.set(me.addr, me.addr);
          renderUsers();
        }
        notice(m.text, m.code === 'kicked' || m.code === 'floodKick' || m.code === 'shutdown' || m.code === 'clusterDegraded');
        break;
    }
  }

  // ---- the connection ----

  function send(line) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      notice(ui.notConnected, true);
      return false;
    }
    if (Protocol.utf8Length(line) > config.maxLineBytes) {
      // The server would refuse it with this very notice; saying it here keeps the text in the box.
      notice(config.texts.lineTooLong, true);
      return false;
    }
    ws.send(line);
    return true;
  }

  function wsUrl() {
    return (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/chat';
  }

  /** One attempt: fetch the config, open the socket; reports to the reconnect loop. */
  function connect(link) {
    var closed = false;
    var socket = null;
    fetch('config.json', { cache: 'no-store' })
      .then(function (res) { return res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status)); })
      .then(function (cfg) {
        if (closed) return;
        config = cfg;
        socket = new WebSocket(wsUrl());
        socket.onopen = function () { ws = socket; link.value({ open: true }); };
        socket.onmessage = function (e) { link.value({ line: String(e.data) }); };
        socket.onclose = function () {
          if (ws === socket) ws = null;
          if (final) link.complete();
          else link.error(new Error('closed'));
        };
      })
      .catch(function (err) { if (!closed) link.error(err); });
    return function () {
      closed = true;
      if (socket) socket.close();
    };
  }

  function onOpen() {
    applyLanguage();
    users.clear();
    me.addr = null;
    renderUsers();
    setStatus(ui.connected, 'up');
    if (everConnected) notice(ui.reconnected);
    everConnected = true;
    expectWho(false);
    send('who');
    var saved = sessionStorage.getItem(NAME_KEY);
    if (saved) send('rename|' + saved); // take our name back after a reconnect or a reload
  }

  function start() {
    final = false;
    setStatus(ui.connecting, 'connecting');
    loop = Backoff.reconnect(connect, Backoff.PAGE_BACKOFF, {
      value: function (v) {
        if (v.open) onOpen();
        else onLine(v.line);
      },
      retry: function (r) {
        if (config) applyLanguage();
        if (users.size > 0) {
          notice(ui.lost, true);
          users.clear();
          renderUsers();
        }
        setStatus(ui.retryIn(Math.ceil(r.delayMs / 1000), r.attempt), 'retrying');
      },
      error: function () { setStatus(ui.ended, 'ended'); },
      complete: function () {
        users.clear();
        renderUsers();
        setStatus(ui.ended, 'ended');
      },
    });
  }

  // ---- what the user types ----

  // What a line means is Commands.parseChatLine's (web/commands.js, shared with the terminal
  // client); what it does here is the page's.
  function submit(raw) {
    var command = Commands.parseChatLine(raw);
    switch (command.kind) {
      case 'nothing':
        return true;
      case 'say':
        return say(command.text);
      case 'who':
        if (!send('who')) return false;
        expectWho(true);
        return true;
      case 'rename':
        return send('rename|' + command.name);
      case 'msg':
        return whisper(command.to, command.text);
      case 'usage':
        notice(ui.usage[command.command]);
        return false;
      case 'help':
        notice(ui.help);
        return true;
      case 'quit':
        final = true;
        if (loop) loop.stop();
        if (ws) ws.close();
        ws = null;
        users.clear();
        renderUsers();
        setStatus(ui.ended, 'ended');
        return true;
      default:
        notice(ui.unknownCommand(command.command));
        return false;
    }
  }

  function say(text) {
    if (target !== null) return whisper(target, text);
    var to = /^to\|([^|]+)\|([\s\S]+)$/.exec(text); // the raw protocol works too
    if (to) return whisper(to[1], to[2]);
    return send(text);
  }

  function whisper(name, text) {
    if (!send('to|' + name + '|' + text)) return false;
    // The server does not echo a private message: show what was sent.
    addEntry('private mine', '→ ' + name, text, { badge: ui.privateBadge });
    return true;
  }

  els.send.addEventListener('submit', function (e) {
    e.preventDefault();
    if (submit(els.text.value)) els.text.value = '';
    els.text.focus();
  });
  els.rename.addEventListener('submit', function (e) {
    e.preventDefault();
    var name = els.newName.value.trim();
    if (name !== '' && send('rename|' + name)) els.newName.value = '';
  });
  els.targetClear.addEventListener('click', function () { setTarget(null); });
  els.text.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && target !== null) setTarget(null);
  });
  els.reconnect.addEventListener('click', function () {
    if (loop) loop.stop();
    start();
  });
  document.addEventListener('visibilitychange', seen);
  window.addEventListener('focus', seen);
  // On a phone the people panel starts folded, leaving the screen to the conversation.
  var narrow = window.matchMedia('(max-width: 640px)');
  els.people.open = !narrow.matches;
  narrow.addEventListener('change', function (e) { els.people.open = !e.matches; });

  applyLanguage();
  start();
})();
