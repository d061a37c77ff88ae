/*
 * The web chat page: one WebSocket, one protocol line per frame, the same commands as the
 * terminal client's chat mode. Every text from the network goes into the page with
 * textContent, never as HTML. It asks for ids and times on conversation lines (`cap|tags`),
 * shows the last lines said before it came (`history|50`), fills the gap after a reconnect
 * (`since|LAST`), and keeps a present reader from the idle kick (web/keepalive.js). Accounts:
 * a sign-in / register / change-password form whose passwords go on the wire and nowhere
 * else (never into the conversation, the console or localStorage); with "remember me" ticked,
 * the name and password stay in this tab's sessionStorage and the page logs in again by
 * itself after a reconnect or a reload (web/accounts.js reads the replies).
 */
/* global Replay, KeepAlive, Accounts -- web/history.js, web/keepalive.js, web/accounts.js, loaded before this file */
(function () {
  'use strict';

  var UI = {
    zh: {
      title: '聊天',
      connecting: '正在连接…',
      connected: '已连接',
      reconnected: '已重新连接',
      lost: '连接已断开',
      retryIn: function (s, n) {
        return '连接已断开，' + s + ' 秒后重连（第 ' + n + ' 次）';
      },
      ended: '连接已结束',
      reconnect: '重新连接',
      send: '发送',
      placeholder: '说点什么…（/help 查看命令）',
      people: function (n) {
        return '在线（' + n + '）';
      },
      you: '（你）',
      renameLabel: '改名',
      rename: '改名',
      privateTo: function (name) {
        return '私聊 ' + name;
      },
      cancelPrivate: '取消私聊',
      privateBadge: '私聊',
      notConnected: '未连接，消息未发送',
      unknownCommand: function (c) {
        return '未知命令：' + c + '（/help 查看命令）';
      },
      help: '命令：/who 在线用户 · /nick（或 /name）名字 改名 · /msg 名字 内容 私聊 · /history 条数 更早的消息 · /register 注册当前用户名 · /login 名字 登录 · /passwd 修改密码 · /logout 退出登录 · /quit（或 /exit）断开 · //… 发送以 / 开头的消息 · 点击用户名可私聊（密码只在“账号”表单中输入）',
      usage: {
        nick: '用法：/nick 名字',
        msg: '用法：/msg 名字 内容',
        history: '用法：/history 条数',
        register: '用法：/register（注册当前用户名；密码在“账号”表单中输入，不要写在命令里）',
        login: '用法：/login 用户名（密码在“账号”表单中输入，不要写在命令里）',
        passwd: '用法：/passwd（密码在“账号”表单中输入，不要写在命令里）',
      },
      account: '账号',
      signedOut: '未登录',
      signedInAs: function (name) {
        return '已登录为 ' + name;
      },
      rememberedNote: '（此标签页记住了登录）',
      showLogin: '登录',
      showRegister: '注册',
      nameLabel: '用户名',
      passwordLabel: '密码',
      loginButton: '登录',
      registerNameLabel: '注册当前用户名',
      newPasswordLabel: '新密码（8 到 128 字节，不能包含“|”）',
      againLabel: '再输入一次新密码',
      registerButton: '注册',
      pickNameFirst: '请先在上面改一个用户名（现在的名字还是你的地址），再注册',
      remember: '在此标签页记住我',
      rememberHint: '断线或刷新后自动登录；关闭标签页即忘记',
      oldPasswordLabel: '当前密码',
      passwdButton: '修改密码',
      showPasswd: '修改密码',
      logout: '退出登录',
      forget: '不再记住',
      forgotten: '此标签页已忘记你的密码，断线后不会自动登录',
      passwordsDiffer: '两次输入的新密码不一致，未发送',
      pleaseSignIn: '你尚未登录，请先登录',
      alreadySignedIn: function (name) {
        return '你已登录为 ' + name + '，请先用 /logout 退出登录';
      },
      waiting: '正在等待服务器…',
      loginAgain: function (name) {
        return '你在此标签页曾登录为 ' + name + '；密码没有被记住，请重新登录';
      },
      autoLoginFailed: '自动登录失败，此标签页已忘记保存的密码，请重新登录',
      clickToMessage: '点击私聊',
      earlier: '更早的消息',
      skipped: '断线期间的消息太多，只显示最近的部分，更早的已略过',
      gapUnknown: '无法补全断线期间的消息（服务器已没有那段记录），下面是最近的消息，之前可能有遗漏',
      noEarlier: '没有更早的消息了',
    },
    en: {
      title: 'Chat',
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnected: 'Reconnected',
      lost: 'Connection lost',
      retryIn: function (s, n) {
        return 'Connection lost, retrying in ' + s + ' s (attempt ' + n + ')';
      },
      ended: 'Disconnected',
      reconnect: 'Reconnect',
      send: 'Send',
      placeholder: 'Say something… (/help for commands)',
      people: function (n) {
        return 'Online (' + n + ')';
      },
      you: ' (you)',
      renameLabel: 'Change your name',
      rename: 'Rename',
      privateTo: function (name) {
        return 'Private to ' + name;
      },
      cancelPrivate: 'Cancel private message',
      privateBadge: 'private',
      notConnected: 'Not connected: message not sent',
      unknownCommand: function (c) {
        return 'Unknown command: ' + c + ' (/help for commands)';
      },
      help: 'Commands: /who online users · /nick (or /name) NAME rename · /msg NAME TEXT private message · /history N earlier messages · /register register your name · /login NAME log in · /passwd change your password · /logout log out · /quit (or /exit) disconnect · //… send a line starting with / · click a name to message it (passwords go in the Account form only)',
      usage: {
        nick: 'Usage: /nick NAME',
        msg: 'Usage: /msg NAME TEXT',
        history: 'Usage: /history N',
        register: 'Usage: /register (registers your current name; the password goes in the Account form, never in the command)',
        login: 'Usage: /login NAME (the password goes in the Account form, never in the command)',
        passwd: 'Usage: /passwd (the passwords go in the Account form, never in the command)',
      },
      account: 'Account',
      signedOut: 'Not logged in',
      signedInAs: function (name) {
        return 'Logged in as ' + name;
      },
      rememberedNote: ' (remembered on this tab)',
      showLogin: 'Log in',
      showRegister: 'Register',
      nameLabel: 'Name',
      passwordLabel: 'Password',
      loginButton: 'Log in',
      registerNameLabel: 'Register your current name',
      newPasswordLabel: 'New password (8 to 128 bytes, no "|")',
      againLabel: 'New password again',
      registerButton: 'Register',
      pickNameFirst: 'Pick a name first (above: your name is still your address), then register it',
      remember: 'Remember me on this tab',
      rememberHint: 'Logs in again after a reconnect or a reload; forgotten when the tab closes',
      oldPasswordLabel: 'Current password',
      passwdButton: 'Change password',
      showPasswd: 'Change password',
      logout: 'Log out',
      forget: 'Forget me on this tab',
      forgotten: 'This tab forgot your password: it will not log in again by itself',
      passwordsDiffer: 'The two new passwords differ: nothing was sent',
      pleaseSignIn: 'You are not logged in: log in first',
      alreadySignedIn: function (name) {
        return 'You are logged in as ' + name + ': log out (/logout) first';
      },
      waiting: 'Waiting for the server…',
      loginAgain: function (name) {
        return 'You were logged in as ' + name + ' on this tab; the password was not remembered: log in again';
      },
      autoLoginFailed: 'Logging in again by itself failed: this tab forgot the saved password, log in again',
      clickToMessage: 'Click to send a private message',
      earlier: 'Earlier messages',
      skipped: 'Too much was said while you were away: only the latest messages are shown, some were skipped',
      gapUnknown: 'The gap could not be filled (the server no longer has those messages): the latest are below, some may be missing',
      noEarlier: 'No earlier messages',
    },
  };

  var MAX_ENTRIES = 1000; // the log keeps this many lines: a long session stays light
  var WHO_QUIET_MS = 150; // a who reply is one burst: this much silence ends it
  var NAME_KEY = 'rx-im-name'; // the name to take back after a reconnect (not an account's: a login gives that)
  // The account this tab was logged in as (no password): after a reconnect without "remember
  // me", the page says so and fills in the name.
  var ACCOUNT_KEY = 'rx-im-account';
  // {name, password}, only while "remember me" is asked for: sessionStorage (this tab, until it
  // closes), never localStorage. Cleared on logout, on a failed automatic login, on "forget".
  var REMEMBER_KEY = 'rx-im-login';
  var EARLIER_LINES = 50; // what a newcomer is shown of what was said before it came

  var $ = function (id) {
    return document.getElementById(id);
  };
  var els = {
    status: $('status'),
    reconnect: $('reconnect'),
    log: $('log'),
    send: $('send'),
    text: $('text'),
    sendButton: $('send-button'),
    target: $('target'),
    targetLabel: $('target-label'),
    targetClear: $('target-clear'),
    people: $('people'),
    peopleTitle: $('people-title'),
    users: $('users'),
    rename: $('rename'),
    newName: $('new-name'),
    renameLabel: $('rename-label'),
    renameButton: $('rename-button'),
    chatTitle: $('chat-title'),
    account: $('account'),
    accountTitle: $('account-title'),
    accountState: $('account-state'),
    accountTabs: $('account-tabs'),
    showLogin: $('show-login'),
    showRegister: $('show-register'),
    loginForm: $('login-form'),
    loginNameLabel: $('login-name-label'),
    loginName: $('login-name'),
    loginPasswordLabel: $('login-password-label'),
    loginPassword: $('login-password'),
    loginButton: $('login-button'),
    registerForm: $('register-form'),
    registerNameLabel: $('register-name-label'),
    registerName: $('register-name'),
    registerHint: $('register-hint'),
    registerPasswordLabel: $('register-password-label'),
    registerPassword: $('register-password'),
    registerAgainLabel: $('register-again-label'),
    registerAgain: $('register-again'),
    registerButton: $('register-button'),
    rememberRow: $('remember-row'),
    remember: $('remember'),
    rememberLabel: $('remember-label'),
    rememberHint: $('remember-hint'),
    passwdForm: $('passwd-form'),
    passwdName: $('passwd-name'),
    passwdOldLabel: $('passwd-old-label'),
    passwdOld: $('passwd-old'),
    passwdNewLabel: $('passwd-new-label'),
    passwdNew: $('passwd-new'),
    passwdAgainLabel: $('passwd-again-label'),
    passwdAgain: $('passwd-again'),
    passwdButton: $('passwd-button'),
    signedInActions: $('signed-in-actions'),
    showPasswd: $('show-passwd'),
    logoutButton: $('logout-button'),
    forgetButton: $('forget-button'),
    accountReply: $('account-reply'),
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
  // This connection: has its own join come (then the page asks for tags and history), are
  // tags on, and the history replies it awaits, oldest request first (see onLine).
  var conn = null;
  var lastId = null; // the id of the last logged line seen (join, leave, message): since| asks from it
  var shown = new Map(); // id -> its entry in the log: a line is shown once, whoever sends it again
  var kickedIdle = false; // the idle kick ended the last connection: a person coming back reconnects
  var account = null; // the account this connection is logged in as, as the server's replies say
  var accountView = 'login'; // the account form shown: 'login' | 'register' | 'passwd' | null
  var presence = KeepAlive.keepAlive(
    {},
    {
      visible: function () {
        return !document.hidden;
      },
      send: function () {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send('');
      },
    },
  );

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
    els.accountTitle.textContent = ui.account;
    els.showLogin.textContent = ui.showLogin;
    els.showRegister.textContent = ui.showRegister;
    els.loginNameLabel.textContent = ui.nameLabel;
    els.loginPasswordLabel.textContent = ui.passwordLabel;
    els.loginButton.textContent = ui.loginButton;
    els.registerNameLabel.textContent = ui.registerNameLabel;
    els.registerHint.textContent = ui.pickNameFirst;
    els.registerPasswordLabel.textContent = ui.newPasswordLabel;
    els.registerAgainLabel.textContent = ui.againLabel;
    els.registerButton.textContent = ui.registerButton;
    els.rememberLabel.textContent = ui.remember;
    els.rememberHint.textContent = ui.rememberHint;
    els.passwdOldLabel.textContent = ui.oldPasswordLabel;
    els.passwdNewLabel.textContent = ui.newPasswordLabel;
    els.passwdAgainLabel.textContent = ui.againLabel;
    els.passwdButton.textContent = ui.passwdButton;
    els.showPasswd.textContent = ui.showPasswd;
    els.logoutButton.textContent = ui.logout;
    els.forgetButton.textContent = ui.forget;
    renderAccount();
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

  var pad = function (n) {
    return (n < 10 ? '0' : '') + n;
  };

  /** A line's time as shown: HH:MM today, with the date before today. */
  function timeOf(when) {
    var d = new Date(when);
    var today = new Date();
    var hm = pad(d.getHours()) + ':' + pad(d.getMinutes());
    if (d.toDateString() === today.toDateString()) return hm;
    return d.toLocaleDateString(config && config.lang === 'en' ? 'en' : 'zh-CN', { month: 'short', day: 'numeric' }) + ' ' + hm;
  }

  function nearBottom() {
    return els.log.scrollHeight - els.log.scrollTop - els.log.clientHeight < 40;
  }

  /**
   * One entry, not yet in the log; kind styles it (say, mine, private, event, notice, alert).
   * extra.time: when it was said (the tag's ISO time; now by default); extra.id: its log id.
   */
  function makeEntry(kind, from, text, extra) {
    var li = document.createElement('li');
    li.className = 'entry ' + kind;
    var when = extra && extra.time ? new Date(extra.time) : new Date();
    var time = document.createElement('time');
    time.dateTime = when.toISOString();
    time.textContent = timeOf(when);
    time.title = when.toLocaleString(config && config.lang === 'en' ? 'en' : 'zh-CN');
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
        sender.addEventListener('click', function () {
          setTarget(extra.replyTo);
        });
      }
      li.appendChild(sender);
    }
    var body = document.createElement('span');
    body.className = 'text';
    body.textContent = text;
    li.appendChild(body);
    if (extra && extra.id !== undefined) {
      li.dataset.id = extra.id;
      shown.set(extra.id, li);
    }
    return li;
  }

  function trim() {
    while (els.log.childElementCount > MAX_ENTRIES) {
      var old = els.log.firstElementChild;
      if (old.dataset.id !== undefined) shown.delete(old.dataset.id);
      els.log.removeChild(old);
    }
  }

  function counted(kind) {
    if ((kind === 'say' || kind === 'private') && away()) {
      unread++;
      updateTitle();
    }
  }

  /** Appends one entry (see makeEntry). */
  function addEntry(kind, from, text, extra) {
    var atBottom = nearBottom();
    els.log.appendChild(makeEntry(kind, from, text, extra));
    trim();
    if (atBottom) els.log.scrollTop = els.log.scrollHeight;
    counted(kind);
  }

  /** The entry for a conversation line as read by Protocol.readLine; `at`: when it came, if untagged. */
  function conversationEntry(m, at) {
    var extra = { addr: m.addr, id: m.id, time: m.time || at };
    switch (m.kind) {
      case 'say':
        var mine = m.addr === me.addr;
        extra.replyTo = mine ? null : m.name;
        return makeEntry(mine ? 'say mine' : 'say', m.name, m.text, extra);
      case 'private':
        return makeEntry('private', m.from, m.text, { badge: ui.privateBadge, replyTo: m.from, id: m.id, time: m.time || at });
      default:
        return makeEntry('event', m.name, m.text, extra);
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
        button.addEventListener('click', function () {
          els.newName.focus();
        });
      } else {
        button.addEventListener('click', function () {
          setTarget(name);
        });
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

  // ---- accounts ----

  /** The name and password this tab was asked to remember, or null. */
  function rememberedLogin() {
    var saved;
    try {
      saved = JSON.parse(sessionStorage.getItem(REMEMBER_KEY) || 'null');
    } catch {
      saved = null; // not ours, or damaged: as good as none
    }
    return saved && typeof saved.name === 'string' && typeof saved.password === 'string' ? saved : null;
  }

  function rememberLogin(name, password) {
    sessionStorage.setItem(REMEMBER_KEY, JSON.stringify({ name: name, password: password }));
  }

  function forgetLogin() {
    sessionStorage.removeItem(REMEMBER_KEY);
  }

  /** Our name is still our address: there is nothing to register yet. */
  function unnamed() {
    return me.name === null || me.name === me.addr;
  }

  function renderAccount() {
    var out = account === null;
    var remembered = rememberedLogin() !== null;
    var view = out ? (accountView === 'register' ? 'register' : 'login') : accountView === 'passwd' ? 'passwd' : null;
    els.accountState.textContent = out ? ui.signedOut : ui.signedInAs(account) + (remembered ? ui.rememberedNote : '');
    els.accountTabs.hidden = !out;
    els.showLogin.setAttribute('aria-pressed', String(view === 'login'));
    els.showRegister.setAttribute('aria-pressed', String(view === 'register'));
    els.loginForm.hidden = view !== 'login';
    els.registerForm.hidden = view !== 'register';
    // One "remember me" for both forms: it goes in the one shown, above its button.
    if (view === 'register') els.registerForm.insertBefore(els.rememberRow, els.registerButton);
    else els.loginForm.insertBefore(els.rememberRow, els.loginButton);
    els.registerName.value = me.name === null ? '' : me.name;
    els.registerHint.hidden = !unnamed();
    els.registerButton.disabled = unnamed();
    els.passwdForm.hidden = view !== 'passwd';
    els.passwdName.value = out ? '' : account;
    els.showPasswd.setAttribute('aria-pressed', String(view === 'passwd'));
    els.signedInActions.hidden = out;
    els.forgetButton.hidden = !remembered;
  }

  /** The last account reply, by the form; state: 'ok' | 'error' | 'pending'. */
  function accountStatus(text, state) {
    els.accountReply.textContent = text;
    els.accountReply.dataset.state = state;
  }

  /** Shows an account form (the people panel unfolded), filled in and focused. */
  function openAccount(view, name) {
    els.people.open = true;
    accountView = view;
    renderAccount();
    var focus;
    if (view === 'login') {
      if (name) els.loginName.value = name;
      focus = els.loginName.value === '' ? els.loginName : els.loginPassword;
    } else if (view === 'register') {
      focus = unnamed() ? els.newName : els.registerPassword;
    } else {
      focus = els.passwdOld;
    }
    focus.focus();
    els.account.scrollIntoView({ block: 'nearest' });
  }

  /**
   * Sends an account command and waits for its reply (see accountReply). `request.remember`:
   * what to keep in sessionStorage if it goes through; `request.auto`: the page's own login
   * after a reconnect. The line holds a password: it goes to the socket and nowhere else.
   */
  function sendAccount(kind, line, request) {
    if (!send(line)) return false;
    conn.auth.push({ kind: kind, auto: request.auto === true, name: request.name, remember: request.remember || null });
    accountStatus(ui.waiting, 'pending');
    return true;
  }

  function login(name, password, remember, auto) {
    return sendAccount('login', 'login|' + name + '|' + password, {
      auto: auto,
      name: name,
      remember: remember ? { name: name, password: password } : null,
    });
  }

  function logout() {
    return sendAccount('logout', 'logout', {});
  }

  /** This connection is logged in as `name` (the account's own spelling). */
  function signedIn(name) {
    account = name;
    me.name = name;
    if (me.addr !== null) users.set(me.addr, name);
    sessionStorage.removeItem(NAME_KEY);
    sessionStorage.setItem(ACCOUNT_KEY, name);
    if (accountView !== 'passwd') accountView = null;
    renderUsers();
    renderAccount();
  }

  /** This connection is no longer logged in, or lost a registered name: its name is its address. */
  function signedOut(addr) {
    account = null;
    accountView = 'login';
    me.name = addr;
    if (me.addr !== null) users.set(me.addr, addr);
    sessionStorage.removeItem(NAME_KEY);
    sessionStorage.removeItem(ACCOUNT_KEY);
    renderUsers();
    renderAccount();
  }

  // Shown as alerts in the conversation: refusals about passwords, and being put out of a name.
  var ACCOUNT_ALERTS = {
    loginFailed: true,
    wrongPassword: true,
    tooManyAttempts: true,
    authNeedsTls: true,
    accountsUnavailable: true,
    loggedInElsewhere: true,
    nameReclaimed: true,
  };

  /**
   * A reply of the accounts (Accounts.read); false when it is not one after all (a `nameTaken`
   * that answers a rename, not a login). Replies come in the order the commands were sent, so
   * the oldest request still waiting is the one a reply can answer.
   */
  function accountReply(reading, text) {
    var head = conn.auth[0];
    var request = head && Accounts.answers(head.kind, reading.code) ? conn.auth.shift() : null;
    if (reading.code === 'nameTaken' && request === null) return false;
    switch (reading.code) {
      case 'registered':
      case 'loggedIn':
        signedIn(reading.name);
        if (request && request.remember) rememberLogin(reading.name, request.remember.password);
        else if (request) forgetLogin(); // logged in without asking to be remembered: forget any older one
        renderAccount();
        break;
      case 'loggedOut':
      case 'loggedInElsewhere':
        // Logged out, here or by a login elsewhere: this tab must not take the account back by itself.
        forgetLogin();
        signedOut(reading.addr);
        break;
      case 'nameReclaimed':
        signedOut(reading.addr);
        break;
      case 'nameRegistered':
        // Someone's account: the way to that name is its login.
        if (account === null) {
          els.loginName.value = reading.name;
          accountView = 'login';
          renderAccount();
        }
        break;
      case 'renameWhileLoggedIn':
        if (account === null) signedIn(reading.name);
        break;
      case 'notLoggedIn':
        account = null;
        sessionStorage.removeItem(ACCOUNT_KEY);
        renderAccount();
        break;
      case 'passwordChanged':
        if (request && request.remember) rememberLogin(request.remember.name, request.remember.password);
        accountView = null;
        renderAccount();
        break;
    }
    if (request || ACCOUNT_ALERTS[reading.code]) accountStatus(text, Accounts.failed(reading.code) ? 'error' : 'ok');
    notice(text, ACCOUNT_ALERTS[reading.code] === true);
    if (request && request.kind === 'login' && request.auto && reading.code !== 'loggedIn') {
      // Whatever the reason, a remembered password that did not work is not tried again.
      forgetLogin();
      notice(ui.autoLoginFailed, true);
      accountView = 'login';
      els.loginName.value = request.name;
      renderAccount();
    }
    return true;
  }

  // ---- lines from the server ----

  var LOGGED = { join: true, leave: true, say: true };

  /**
   * A line from the server. A connection's first line is its own join (untagged: nothing was
   * asked yet); then the page asks for tags and history. Until a history reply's
   * `history|end`, conversation lines are held (the reply and the live lines around it are
   * placed together, each once, see finishReplay); the server sends the lines said during a
   * reply after its end, so what follows is live.
   */
  function onLine(line) {
    var m = Protocol.readLine(line, config.texts, users, who !== null);
    if (!conn.joined && m.kind === 'join' && m.id === undefined) return joined(m, line);
    // Another line after the reply began ends it (our own join line comes before it).
    if (who && who.seen.size > 0 && m.kind !== 'who') endWho();
    if (m.kind === 'cap') {
      if (m.name === 'tags') conn.tags = m.ack;
      return;
    }
    if (m.kind === 'history') return historyMarker(m.marker);
    var replay = conn.replays[0];
    if (replay && LOGGED[m.kind]) {
      if (m.id !== undefined) replay.items.push({ id: m.id, read: m, line: Protocol.untag(line).line });
      else replay.plain.push({ line: line, read: m, at: new Date() });
      return;
    }
    if (replay && m.kind === 'private') {
      replay.privates.push({ read: m, at: new Date() });
      return;
    }
    live(m, line);
  }

  /** Our own join: who we are on this connection. Now ask for tags and what we missed. */
  function joined(m, line) {
    me.addr = m.addr;
    conn.joined = true;
    me.name = m.addr;
    renderAccount();
    var kind = lastId === null ? 'first' : 'since';
    // Tags first, so that the messages kept for us carry their original time; then the login
    // the user asked us to remember, before anything else of ours (the server answers in order).
    send('cap|tags');
    var remembered = rememberedLogin();
    if (remembered) login(remembered.name, remembered.password, true, true);
    send(kind === 'first' ? 'history|' + EARLIER_LINES : 'since|' + lastId);
    conn.replays.push(newReplay(kind, true));
    conn.replays[0].plain.push({ line: line, read: m, at: new Date() });
    if (remembered) return;
    var wasAccount = sessionStorage.getItem(ACCOUNT_KEY);
    var saved = sessionStorage.getItem(NAME_KEY);
    if (wasAccount) {
      // Its name is registered: only a login takes it back, and we do not have the password.
      els.loginName.value = wasAccount;
      accountView = 'login';
      renderAccount();
      notice(ui.loginAgain(wasAccount), true);
    } else if (saved) {
      send('rename|' + saved); // take our name back after a reconnect or a reload
    }
  }

  function newReplay(kind, opening) {
    return { kind: kind, opening: opening, items: [], plain: [], privates: [], marker: null };
  }

  function historyMarker(marker) {
    var replay = conn.replays[0];
    if (!replay) return; // a reply to a history| typed raw: nothing was held for it
    if (marker !== 'end') {
      replay.marker = marker;
      return;
    }
    conn.replays.shift();
    finishReplay(replay);
  }

  /** Puts a finished reply's lines in place (Replay.plan), then what was held around it. */
  function finishReplay(replay) {
    var atBottom = nearBottom();
    var plan = Replay.plan(
      replay.items,
      function (id) {
        return shown.has(id);
      },
      replay.kind,
      function (item) {
        return item.read.kind === 'join' && item.read.addr === me.addr;
      },
    );
    var placedNow = new Set();
    var first = null;
    var lastEarlier = null;
    plan.inserts.forEach(function (insert) {
      var li = conversationEntry(insert.item.read);
      place(li, insert, placedNow);
      placedNow.add(insert.item.id);
      if (insert.earlier) {
        li.classList.add('earlier');
        if (lastEarlier === null) els.log.insertBefore(rule(ui.earlier), li);
        lastEarlier = li;
      }
      if (first === null) first = li;
      if (replay.kind === 'since') counted(insert.item.read.kind);
    });
    // The earlier lines are one run (Replay.plan): a rule under them too, where now begins.
    if (lastEarlier !== null) els.log.insertBefore(rule(''), lastEarlier.nextSibling);
    if (replay.marker === 'truncated' || replay.marker === 'unknown') {
      var note = makeEntry('notice alert', null, replay.marker === 'truncated' ? ui.skipped : ui.gapUnknown);
      els.log.insertBefore(note, first);
    }
    if (plan.ordered.length > 0) lastId = plan.ordered[plan.ordered.length - 1].id;
    if (
      replay.kind === 'history' &&
      !plan.inserts.some(function (insert) {
        return insert.earlier;
      })
    )
      notice(ui.noEarlier);
    // Lines held before tags were on are in the reply, with their real times, when the server
    // keeps a log; without one they are shown now, as they came.
    Replay.unmatched(
      replay.plain,
      replay.items.map(function (item) {
        return item.line;
      }),
    ).forEach(function (held) {
      live(held.read, held.line, held.at);
    });
    replay.privates.forEach(function (held) {
      live(held.read, null, held.at);
    });
    trim();
    if (atBottom) els.log.scrollTop = els.log.scrollHeight;
    if (replay.opening) {
      if (everConnected) notice(ui.reconnected);
      everConnected = true;
      // Who is online now: asked after the reply, so the panel is the present, not the past.
      expectWho(false);
      send('who');
    }
  }

  /** A horizontal rule in the log, with a label or none. */
  function rule(label) {
    var li = document.createElement('li');
    li.className = 'divider';
    li.setAttribute('role', 'separator');
    li.textContent = label;
    return li;
  }

  /** Inserts a reply's entry where Replay.plan says. */
  function place(li, insert, placedNow) {
    if (insert.at === 'top') return els.log.insertBefore(li, els.log.firstChild);
    if (insert.at === 'end') return els.log.appendChild(li);
    var ref = shown.get(insert.ref);
    if (insert.at === 'before') return els.log.insertBefore(li, ref);
    var next = ref.nextSibling;
    // After a line shown before this reply: also after the notices that followed it (the
    // connection lost...), which came later than the line did.
    if (!placedNow.has(insert.ref)) while (next && next.dataset.id === undefined) next = next.nextSibling;
    return els.log.insertBefore(li, next);
  }

  /** A line as it comes, outside history replies. `at`: when it came, if it was held. */
  function live(m, line, at) {
    if (LOGGED[m.kind] && m.id !== undefined) {
      lastId = m.id;
      if (shown.has(m.id)) return; // sent again (a reply to a history| typed raw)
    }
    switch (m.kind) {
      case 'join':
        users.set(m.addr, m.name);
        renderUsers();
        addEntry('event', m.name, m.text, { addr: m.addr, id: m.id, time: m.time || at });
        break;
      case 'leave':
        users.delete(m.addr);
        renderUsers();
        addEntry('event', m.name, m.text, { addr: m.addr, id: m.id, time: m.time || at });
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
        addEntry(mine ? 'say mine' : 'say', m.name, m.text, { addr: m.addr, replyTo: mine ? null : m.name, id: m.id, time: m.time || at });
        break;
      case 'private':
        addEntry('private', m.from, m.text, { badge: ui.privateBadge, replyTo: m.from, id: m.id, time: m.time || at });
        break;
      case 'renamed':
        me.name = m.name;
        if (account !== null) {
          account = m.name; // another spelling of the account's name
          sessionStorage.setItem(ACCOUNT_KEY, m.name);
        } else {
          sessionStorage.setItem(NAME_KEY, m.name);
          sessionStorage.removeItem(ACCOUNT_KEY);
        }
        if (me.addr !== null) users.set(me.addr, m.name);
        renderUsers();
        renderAccount();
        notice(line);
        break;
      case 'notice':
        var reading = m.code === 'nameTaken' ? { code: 'nameTaken' } : m.code === 'other' ? Accounts.read(m.text, config.texts.accounts) : null;
        if (reading && accountReply(reading, m.text)) break;
        if (m.code === 'kicked' || m.code === 'floodKick') final = true; // the server ended us: stay out
        if (m.code === 'kicked') kickedIdle = true;
        if (m.code === 'nameLost' && me.addr !== null) {
          me.name = me.addr;
          account = null; // the server dropped the login with the name
          sessionStorage.removeItem(NAME_KEY);
          users.set(me.addr, me.addr);
          renderUsers();
          renderAccount();
        }
        notice(m.text, m.code === 'kicked' || m.code === 'floodKick' || m.code === 'shutdown' || m.code === 'clusterDegraded' || m.code === 'historyLost');
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
    presence.sent();
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
      .then(function (res) {
        return res.ok ? res.json() : Promise.reject(new Error('HTTP ' + res.status));
      })
      .then(function (cfg) {
        if (closed) return;
        config = cfg;
        socket = new WebSocket(wsUrl());
        socket.onopen = function () {
          ws = socket;
          link.value({ open: true });
        };
        socket.onmessage = function (e) {
          link.value({ line: String(e.data) });
        };
        socket.onclose = function () {
          if (ws === socket) {
            ws = null;
            presence.stop();
          }
          if (final) link.complete();
          else link.error(new Error('closed'));
        };
      })
      .catch(function (err) {
        if (!closed) link.error(err);
      });
    return function () {
      closed = true;
      if (socket) socket.close();
    };
  }

  function onOpen() {
    applyLanguage();
    users.clear();
    me.addr = null;
    me.name = null;
    account = null; // a new connection is logged in as nobody until a login says so
    if (accountView === null) accountView = 'login';
    // auth: the account requests sent on this connection, oldest first, awaiting their replies.
    conn = { joined: false, tags: false, replays: [], auth: [] };
    renderUsers();
    setStatus(ui.connected, 'up');
    presence.start(config.idleTimeoutMs);
    // The rest (tags, history, who, our name) once our own join has come: see joined().
  }

  function start() {
    final = false;
    kickedIdle = false;
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
      error: function () {
        setStatus(ui.ended, 'ended');
      },
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
        // Clear what could be a password typed on the command line: it must not stay on screen.
        return command.command === 'register' || command.command === 'login' || command.command === 'passwd';
      case 'register':
        if (account !== null) {
          notice(ui.alreadySignedIn(account));
          return true;
        }
        openAccount('register');
        if (unnamed()) notice(ui.pickNameFirst);
        return true;
      case 'login':
        if (account !== null) {
          notice(ui.alreadySignedIn(account));
          return true;
        }
        openAccount('login', command.name);
        return true;
      case 'passwd':
        if (account === null) {
          notice(ui.pleaseSignIn);
          openAccount('login');
          return true;
        }
        openAccount('passwd');
        return true;
      case 'logout':
        return logout();
      case 'help':
        notice(ui.help);
        return true;
      case 'history':
        if (!send('history|' + command.count)) return false;
        conn.replays.push(newReplay('history', false));
        return true;
      case 'quit':
        final = true;
        if (loop) loop.stop();
        if (ws) ws.close();
        ws = null;
        presence.stop();
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
    // An account command in the protocol's words is one, even in private mode: it holds a
    // password, which must never go out as a message.
    var kind = Accounts.rawKind(text);
    if (kind !== null) return sendAccount(kind, text, {});
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
    var focused = document.activeElement;
    if (submit(els.text.value)) els.text.value = '';
    // Back to the box, unless the command went on in a form (/login: the password field).
    if (document.activeElement === focused) els.text.focus();
  });
  els.rename.addEventListener('submit', function (e) {
    e.preventDefault();
    var name = els.newName.value.trim();
    if (name !== '' && send('rename|' + name)) els.newName.value = '';
  });
  els.showLogin.addEventListener('click', function () {
    openAccount('login');
  });
  els.showRegister.addEventListener('click', function () {
    openAccount('register');
  });
  els.showPasswd.addEventListener('click', function () {
    if (accountView === 'passwd') {
      accountView = null;
      renderAccount();
    } else {
      openAccount('passwd');
    }
  });
  // Each password field is emptied as soon as it is read, whatever happens next.
  function taken(input) {
    var value = input.value;
    input.value = '';
    return value;
  }
  els.loginForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var name = els.loginName.value.trim();
    var password = taken(els.loginPassword);
    if (name === '' || password === '') return;
    login(name, password, els.remember.checked, false);
  });
  els.registerForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var password = taken(els.registerPassword);
    var again = taken(els.registerAgain);
    if (unnamed()) return accountStatus(ui.pickNameFirst, 'error');
    if (password !== again) return accountStatus(ui.passwordsDiffer, 'error');
    sendAccount('register', 'register|' + password, { remember: els.remember.checked ? { password: password } : null });
  });
  els.passwdForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var old = taken(els.passwdOld);
    var password = taken(els.passwdNew);
    var again = taken(els.passwdAgain);
    if (password !== again) return accountStatus(ui.passwordsDiffer, 'error');
    // A remembered login follows the change, once the server says it is done.
    var kept = rememberedLogin();
    sendAccount('passwd', 'passwd|' + old + '|' + password, { remember: kept ? { name: kept.name, password: password } : null });
  });
  els.logoutButton.addEventListener('click', logout);
  els.forgetButton.addEventListener('click', function () {
    forgetLogin();
    renderAccount();
    accountStatus(ui.forgotten, 'ok');
  });
  els.targetClear.addEventListener('click', function () {
    setTarget(null);
  });
  els.text.addEventListener('keydown', function (e) {
    if (e.key === 'Escape' && target !== null) setTarget(null);
  });
  els.reconnect.addEventListener('click', function () {
    if (els.status.dataset.state !== 'ended') return; // already on its way back (see comeBack)
    if (loop) loop.stop();
    start();
  });
  document.addEventListener('visibilitychange', seen);
  window.addEventListener('focus', seen);

  // A person is there (web/keepalive.js): what counts is what only a person does. Not `scroll`:
  // the log scrolls by itself as lines arrive. Not a pointermove that did not move: browsers
  // send those when content moves under a resting mouse.
  var pointer = { x: NaN, y: NaN };
  function interacted() {
    presence.interacted();
    comeBack();
  }
  ['keydown', 'pointerdown', 'wheel', 'touchstart'].forEach(function (type) {
    document.addEventListener(type, interacted, { capture: true, passive: true });
  });
  document.addEventListener(
    'pointermove',
    function (e) {
      if (e.clientX === pointer.x && e.clientY === pointer.y) return;
      pointer.x = e.clientX;
      pointer.y = e.clientY;
      interacted();
    },
    { capture: true, passive: true },
  );
  window.addEventListener('focus', interacted);
  document.addEventListener('visibilitychange', function () {
    if (!document.hidden) interacted();
  });

  /**
   * The idle kick freed a tab nobody was at; when a person is back, so is the page (and
   * since| fills what it missed). A flood kick or /quit stays out until asked.
   */
  function comeBack() {
    if (!kickedIdle || els.status.dataset.state !== 'ended' || document.hidden) return;
    if (loop) loop.stop();
    start();
  }
  // On a phone the people panel starts folded, leaving the screen to the conversation.
  var narrow = window.matchMedia('(max-width: 640px)');
  els.people.open = !narrow.matches;
  narrow.addEventListener('change', function (e) {
    els.people.open = !e.matches;
  });

  applyLanguage();
  start();
})();
