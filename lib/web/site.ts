/**
 * The web chat's static site: the page's files, read once into memory, and `/config.json`,
 * which tells the page the server's language and the exact texts it must recognise.
 */
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as path from 'node:path';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES } from '../auth/passwords';
import { Texts } from '../texts';

/** The files the page is made of: a fixed list, so no request path ever reaches the disk. */
const FILES: Record<string, string> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/app.js': 'app.js',
  '/backoff.js': 'backoff.js',
  '/protocol.js': 'protocol.js',
  '/commands.js': 'commands.js',
  '/history.js': 'history.js',
  '/keepalive.js': 'keepalive.js',
  '/accounts.js': 'accounts.js',
  '/style.css': 'style.css',
  '/favicon.svg': 'favicon.svg',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json; charset=utf-8',
};

// Scripts and styles from this origin only, nothing inline: even a text that slipped into the
// DOM as HTML could not run. `connect-src 'self'` covers the same-origin WebSocket.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-cache',
};

interface Resource {
  readonly type: string;
  readonly body: Buffer;
}

/** `web/` next to `lib/` (ts-node) or next to `dist/` (compiled). */
export function defaultWebRoot(): string {
  const candidates = [path.resolve(__dirname, '../../web'), path.resolve(__dirname, '../../../web')];
  return candidates.find((dir) => fs.existsSync(path.join(dir, 'index.html'))) ?? candidates[0];
}

/**
 * A text function as the fixed parts around its arguments, for the page to match lines with:
 * `(n) => \`您已更改用户名为:${n}\`` -> `['您已更改用户名为:', '']`; n arguments give n + 1 parts.
 */
function template(render: (...args: string[]) => string): string[] {
  // One private-use character a gap: none of them occurs in the texts.
  const gaps = Array.from({ length: render.length }, (_, i) => String.fromCharCode(0xe000 + i));
  const parts = render(...gaps).split(new RegExp(`[${gaps.join('')}]`));
  return Array.from({ length: gaps.length + 1 }, (_, i) => parts[i] ?? '');
}

/** A text as all its fixed parts, for a text that repeats an argument (`nameRegistered` names NAME twice). */
function parts(render: (...args: string[]) => string): string[] {
  const gaps = Array.from({ length: render.length }, (_, i) => String.fromCharCode(0xe000 + i));
  return render(...gaps).split(new RegExp(`[${gaps.join('')}]`));
}

/** A text around one number (minutes, a port), once per plural form: `1 minute`, `2 minutes`. */
function numbered(render: (n: number) => string): string[][] {
  return [1, 2].map((n) => {
    const text = render(n);
    const at = text.lastIndexOf(String(n));
    return [text.slice(0, at), text.slice(at + String(n).length)];
  });
}

/**
 * The accounts' replies for web/accounts.js: each code -> its forms, each form its fixed parts
 * (one part: the exact text). No text holds a password.
 */
function accountTexts(t: Texts): Record<string, string[][]> {
  return {
    nameRegistered: [parts((name) => t.nameRegistered(name))],
    alreadyRegistered: [template((name) => t.alreadyRegistered(name))],
    registered: [template((name) => t.registered(name))],
    loggedInElsewhere: [template((addr) => t.loggedInElsewhere(addr))],
    loggedOut: [template((addr) => t.loggedOut(addr))],
    loggedIn: [template((name) => t.loggedIn(name))],
    nameReclaimed: [template((name, addr) => t.nameReclaimed(name, addr))],
    renameWhileLoggedIn: [template((account) => t.renameWhileLoggedIn(account))],
    offlineKept: [template((name) => t.offlineKept(name))],
    tooManyAttempts: numbered((minutes) => t.tooManyAttempts(minutes)),
    authNeedsTls: [...numbered((port) => t.authNeedsTls(port)), [t.authNeedsTls(undefined)]],
    registerNeedsName: [[t.registerNeedsName]],
    passwordInvalid: [[t.passwordInvalid(PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES)]],
    loginFailed: [[t.loginFailed]],
    notLoggedIn: [[t.notLoggedIn]],
    passwordChanged: [[t.passwordChanged]],
    wrongPassword: [[t.wrongPassword]],
    accountsUnavailable: [[t.accountsUnavailable]],
    accountsOff: [[t.accountsOff]],
    usageRegister: [[t.accountUsage('register')]],
    usageLogin: [[t.accountUsage('login')]],
    usagePasswd: [[t.accountUsage('passwd')]],
  };
}

/**
 * What the page needs to read the protocol's lines in the server's language, and the idle
 * timeout its keep-alive must beat (web/keepalive.js; absent: the page assumes the default 60 s).
 */
export function pageConfig(t: Texts, maxLineBytes: number, idleTimeoutMs?: number): Record<string, unknown> {
  return {
    lang: t.lang,
    maxLineBytes,
    ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    texts: {
      online: t.online,
      offline: t.offline,
      listed: t.listed,
      renamed: template((name) => t.renamed(name)),
      nameTaken: t.nameTaken,
      noSuchUser: template((name) => t.noSuchUser(name)),
      privateFormat: t.privateFormat,
      kicked: t.kicked,
      floodKick: t.floodKick,
      shutdown: t.shutdown,
      serverFull: t.serverFull,
      tooManyFromAddress: t.tooManyFromAddress,
      lineTooLong: t.lineTooLong(maxLineBytes),
      clusterDegraded: t.clusterDegraded,
      clusterRestored: t.clusterRestored,
      nameLost: template((name, addr) => t.nameLost(name, addr)),
      historyLost: t.historyLost,
      accounts: accountTexts(t),
    },
  };
}

/** Builds the request handler; reads the page's files now, so a missing file fails at start. */
export function site(root: string, config: Record<string, unknown>): (req: IncomingMessage, res: ServerResponse) => void {
  const resources = new Map<string, Resource>();
  for (const [url, file] of Object.entries(FILES)) {
    resources.set(url, { type: TYPES[path.extname(file)], body: fs.readFileSync(path.join(root, file)) });
  }
  resources.set('/config.json', { type: TYPES['.json'], body: Buffer.from(JSON.stringify(config)) });

  return (req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    const resource = resources.get(url);
    if (!resource) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': resource.type, 'content-length': resource.body.length, ...SECURITY_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : resource.body);
  };
}
