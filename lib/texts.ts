/**
 * Every user-visible text, one catalogue per language.
 * `zh` is the reference's wording, byte for byte; `en` is the same catalogue in English.
 */

export type Lang = 'zh' | 'en';
export const LANGS: readonly Lang[] = ['zh', 'en'];

/** Why a requested name was refused. */
export type NameProblem = 'length' | 'bar' | 'space' | 'control' | 'address';

export interface Texts {
  readonly lang: Lang;
  /** Suffix of the join announcement `[addr]name:<online>`. */
  readonly online: string;
  /** Suffix of the leave announcement `[addr]name:<offline>`. */
  readonly offline: string;
  /** Suffix of one `who` line `[addr]name:<listed>`. */
  readonly listed: string;
  renamed(name: string): string;
  readonly nameTaken: string;
  nameInvalid(problem: NameProblem, maxChars: number): string;
  readonly privateFormat: string;
  noSuchUser(name: string): string;
  readonly kicked: string;
  readonly shutdown: string;
  lineTooLong(maxBytes: number): string;
  rateLimited(perSecond: number): string;
  readonly floodKick: string;
  readonly serverFull: string;
  readonly tooManyFromAddress: string;
  /** Several nodes (Redis): the link to the other nodes is down; local users still chat. */
  readonly clusterDegraded: string;
  readonly clusterRestored: string;
  /** Several nodes: a name claimed during an outage was also claimed elsewhere meanwhile. */
  nameLost(name: string, addr: string): string;
  /** `history|N` with N not a whole number of at least 1. */
  historyUsage(maxPage: number): string;
  /** The message log could not be written (disk full): the chat goes on without history. */
  readonly historyLost: string;

  // Accounts (lib/auth/). No text ever holds a password.
  /** `register|`, `login|`, `passwd|`, `logout` on a server run without accounts. */
  readonly accountsOff: string;
  /** A password sent over a plain connection from another machine: refused; names the TLS port, if any. */
  authNeedsTls(tlsPort: number | undefined): string;
  /** A malformed account command: its usage. */
  accountUsage(command: 'register' | 'login' | 'passwd'): string;
  /** `register|` while the name is still the address. */
  readonly registerNeedsName: string;
  /** A new password that is too short, too long or holds a `|`. */
  passwordInvalid(minBytes: number, maxBytes: number): string;
  alreadyRegistered(name: string): string;
  /** Registered, and logged in as the new account. */
  registered(name: string): string;
  /** Wrong name or wrong password: one text for both. */
  readonly loginFailed: string;
  loggedIn(name: string): string;
  /** Too many failed attempts for the account or from the address. */
  tooManyAttempts(minutes: number): string;
  /** `rename|NAME` to a name registered to an account this connection is not logged into. */
  nameRegistered(name: string): string;
  /** `rename|` while logged in: the account is the name; log out first. */
  renameWhileLoggedIn(account: string): string;
  /** To a connection that held a registered name (not logged in): its owner logged in and took it. */
  nameReclaimed(name: string, addr: string): string;
  /** To a logged-in connection whose account logged in on another connection: it is logged out. */
  loggedInElsewhere(addr: string): string;
  readonly notLoggedIn: string;
  loggedOut(addr: string): string;
  readonly passwordChanged: string;
  /** `passwd|` with a wrong old password. */
  readonly wrongPassword: string;
  /** `to|NAME|TEXT` to a registered name nobody holds now: kept for its next login. */
  offlineKept(name: string): string;
  /** The account store failed (disk full, Redis gone). */
  readonly accountsUnavailable: string;
}

const zhProblems: Record<NameProblem, (max: number) => string> = {
  length: (max) => `长度须为1到${max}个字符`,
  bar: () => '不能包含"|"',
  space: () => '不能包含空白字符',
  control: () => '不能包含控制字符或不可见字符',
  address: () => '不能使用"地址:端口"形式的名字',
};

const enProblems: Record<NameProblem, (max: number) => string> = {
  length: (max) => `it must be 1 to ${max} characters long`,
  bar: () => 'it must not contain "|"',
  space: () => 'it must not contain whitespace',
  control: () => 'it must not contain control or invisible characters',
  address: () => 'it must not look like an address (ip:port)',
};

export const zh: Texts = {
  lang: 'zh',
  online: '已上线',
  offline: '已下线',
  listed: '在线...',
  renamed: (name) => `您已更改用户名为:${name}`,
  nameTaken: '当前用户名已经被使用!',
  nameInvalid: (problem, max) => `用户名无效:${zhProblems[problem](max)}`,
  privateFormat: '私聊消息格式不正确,请使用"to|张三|张三你好..."格式',
  noSuchUser: (name) => `${name}用户不存在`,
  kicked: '你被踢了',
  shutdown: '服务器正在关闭',
  lineTooLong: (max) => `消息过长(最多${max}字节),已丢弃`,
  rateLimited: (perSecond) => `发言过快(每秒最多${perSecond}条),多出的消息已丢弃`,
  floodKick: '持续刷屏,你被断开了',
  serverFull: '服务器已满,请稍后再试',
  tooManyFromAddress: '来自你的地址的连接过多',
  clusterDegraded: '集群连接中断:暂时只能与本节点的用户聊天',
  clusterRestored: '集群连接已恢复',
  nameLost: (name, addr) => `用户名${name}在集群中断期间已被他人使用,你的名字恢复为${addr}`,
  historyUsage: (max) => `用法:history|N,N为1到${max}之间的整数`,
  historyLost: '服务器暂时无法保存聊天记录(磁盘已满),聊天继续,但不再记录历史',

  accountsOff: '此服务器未开启账号功能',
  authNeedsTls: (port) =>
    port === undefined
      ? '明文连接不接受密码,而此服务器没有TLS端口;如果刚才发送的是真实密码,请尽快修改'
      : `明文连接不接受密码,请通过TLS端口${port}连接后再注册或登录;如果刚才发送的是真实密码,请尽快修改`,
  accountUsage: (command) =>
    command === 'register'
      ? '格式不正确,请使用"register|密码"'
      : command === 'login'
        ? '格式不正确,请使用"login|用户名|密码"'
        : '格式不正确,请使用"passwd|旧密码|新密码"',
  registerNeedsName: '请先用"rename|用户名"取一个用户名,再注册',
  passwordInvalid: (min, max) => `密码须为${min}到${max}字节,且不能包含"|"`,
  alreadyRegistered: (name) => `用户名${name}已被注册`,
  registered: (name) => `用户名${name}注册成功,您已登录`,
  loginFailed: '用户名或密码错误',
  loggedIn: (name) => `登录成功,您的用户名为:${name}`,
  tooManyAttempts: (minutes) => `尝试次数过多,请${minutes}分钟后再试`,
  nameRegistered: (name) => `用户名${name}已被注册,请使用"login|${name}|密码"登录`,
  renameWhileLoggedIn: (account) => `您已登录为${account},请先用"logout"退出登录再改名`,
  nameReclaimed: (name, addr) => `用户名${name}的主人已登录,你的名字恢复为${addr}`,
  loggedInElsewhere: (addr) => `您的账号已在别处登录,此连接已退出登录,名字恢复为${addr}`,
  notLoggedIn: '您尚未登录',
  loggedOut: (addr) => `您已退出登录,名字恢复为${addr}`,
  passwordChanged: '密码已修改',
  wrongPassword: '密码错误',
  offlineKept: (name) => `${name}不在线,消息已保存,将在其下次登录后送达`,
  accountsUnavailable: '账号服务暂时不可用,请稍后再试',
};

export const en: Texts = {
  lang: 'en',
  online: 'is online',
  offline: 'is offline',
  listed: 'online...',
  renamed: (name) => `Your name is now:${name}`,
  nameTaken: 'That name is already in use!',
  nameInvalid: (problem, max) => `Invalid name: ${enProblems[problem](max)}`,
  privateFormat: 'Bad private message format, use "to|alice|hello alice..."',
  noSuchUser: (name) => `${name}: no such user`,
  kicked: 'You were kicked (idle too long)',
  shutdown: 'The server is shutting down',
  lineTooLong: (max) => `Message too long (at most ${max} bytes), discarded`,
  rateLimited: (perSecond) => `Too fast (at most ${perSecond} messages a second): extra messages dropped`,
  floodKick: 'Disconnected for flooding',
  serverFull: 'The server is full, try again later',
  tooManyFromAddress: 'Too many connections from your address',
  clusterDegraded: 'Cluster link lost: for now you can chat only with users on this node',
  clusterRestored: 'Cluster link restored',
  nameLost: (name, addr) => `${name} was also taken elsewhere while the cluster was degraded: your name is ${addr} again`,
  historyUsage: (max) => `Usage: history|N, with N a whole number from 1 to ${max}`,
  historyLost: 'The server cannot store messages for now (disk full): the chat goes on without history',

  accountsOff: 'Accounts are not enabled on this server',
  authNeedsTls: (port) =>
    port === undefined
      ? 'Passwords are not accepted over a plain connection, and this server has no TLS port; if you just sent a real password, change it soon'
      : `Passwords are not accepted over a plain connection: connect with TLS on port ${port} to register or log in; if you just sent a real password, change it soon`,
  accountUsage: (command) =>
    command === 'register'
      ? 'Bad format, use "register|PASSWORD"'
      : command === 'login'
        ? 'Bad format, use "login|NAME|PASSWORD"'
        : 'Bad format, use "passwd|OLD|NEW"',
  registerNeedsName: 'Pick a name first ("rename|NAME"), then register it',
  passwordInvalid: (min, max) => `A password must be ${min} to ${max} bytes long and must not contain "|"`,
  alreadyRegistered: (name) => `${name} is already registered`,
  registered: (name) => `${name} is now registered to you; you are logged in`,
  loginFailed: 'Wrong name or password',
  loggedIn: (name) => `Logged in: your name is ${name}`,
  tooManyAttempts: (minutes) => `Too many attempts: try again in ${minutes} minute${minutes === 1 ? '' : 's'}`,
  nameRegistered: (name) => `${name} is a registered name: log in with "login|${name}|PASSWORD"`,
  renameWhileLoggedIn: (account) => `You are logged in as ${account}: log out ("logout") before changing your name`,
  nameReclaimed: (name, addr) => `${name} is registered and its owner logged in: your name is ${addr} again`,
  loggedInElsewhere: (addr) => `Your account logged in on another connection: you are logged out here, your name is ${addr} again`,
  notLoggedIn: 'You are not logged in',
  loggedOut: (addr) => `Logged out: your name is ${addr} again`,
  passwordChanged: 'Password changed',
  wrongPassword: 'Wrong password',
  offlineKept: (name) => `${name} is offline: your message is kept and will be delivered at their next login`,
  accountsUnavailable: 'Accounts are unavailable for now, try again later',
};

export const texts: Record<Lang, Texts> = { zh, en };

export function isLang(value: string): value is Lang {
  return (LANGS as readonly string[]).includes(value);
}
