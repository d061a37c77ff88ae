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
};

export const texts: Record<Lang, Texts> = { zh, en };

export function isLang(value: string): value is Lang {
  return (LANGS as readonly string[]).includes(value);
}
