/**
 * Every text the client itself shows, one catalogue per language. `zh` keeps the Go reference
 * client's wording byte for byte (menu, prompts, notices); the lines it never had are ours.
 */
import { Lang } from '../texts';

export interface ClientTexts {
  readonly lang: Lang;
  readonly connected: string;
  readonly connectFailed: string;
  /** Why a connection could not be made or was lost: `reason(code, message)`. */
  reason(code: string | undefined, message: string): string;
  cannotConnect(address: string, reason: string): string;

  // Menu mode: the reference's flows.
  readonly menu: readonly string[];
  /** The line editor's prompt while the menu waits for a choice (the reference had none). */
  readonly menuPrompt: string;
  readonly badChoice: string;
  readonly publicMode: string;
  readonly publicPrompt: string;
  readonly privateMode: string;
  readonly targetPrompt: string;
  /** The first message prompt for a target; the reference's later ones have one `>` fewer. */
  readonly firstMessagePrompt: string;
  readonly messagePrompt: string;
  readonly renamePrompt: string;

  // Chat mode.
  readonly chatHint: string;
  readonly chatPrompt: string;
  readonly chatHelp: readonly string[];
  unknownCommand(command: string): string;
  readonly nickUsage: string;
  readonly msgUsage: string;
  readonly historyUsage: string;
  // Accounts (chat mode): the password prompts and their notices.
  readonly passwordPrompt: string;
  readonly oldPasswordPrompt: string;
  readonly newPasswordPrompt: string;
  readonly passwordAgainPrompt: string;
  readonly passwordsDiffer: string;
  readonly passwordCancelled: string;
  readonly registerUsage: string;
  readonly loginUsage: string;
  readonly passwdUsage: string;
  /** `history|truncated`: more was said than one reply holds; the newest part follows. */
  readonly historyTruncated: string;
  /** `history|unknown`: the server no longer has the line asked from; the newest part follows. */
  readonly historyUnknown: string;

  // The end of a connection.
  /** The server closed the connection after saying why (kick, shutdown). */
  readonly serverClosed: string;
  /** The server closed the connection without a word. */
  readonly connectionClosed: string;
  connectionLost(reason: string): string;
  readonly serverLineTooLong: string;
}

const zhReasons: Record<string, string> = {
  ECONNREFUSED: '连接被拒绝',
  ECONNRESET: '连接被重置',
  EPIPE: '连接已断开',
  ETIMEDOUT: '连接超时',
  ENOTFOUND: '找不到主机',
  EAI_AGAIN: '找不到主机',
  EHOSTUNREACH: '主机不可达',
  ENETUNREACH: '网络不可达',
};

const enReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection broken',
  ETIMEDOUT: 'timed out',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'no such host',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
};

function reasonFrom(catalogue: Record<string, string>) {
  return (code: string | undefined, message: string): string => {
    const known = code === undefined ? undefined : catalogue[code];
    // The code stays visible: it is what people search for.
    return known !== undefined ? `${known} (${code})` : message;
  };
}

export const zh: ClientTexts = {
  lang: 'zh',
  connected: '>>>>>>>>链接服务器成功>>>>>>>>>',
  connectFailed: '>>>>>>>>链接服务器失败>>>>>>>>',
  reason: reasonFrom(zhReasons),
  cannotConnect: (address, reason) => `无法连接${address}:${reason}`,

  menu: [
    '*****************************',
    '**********1.公聊模式**********',
    '**********2.私聊模式**********',
    '**********3.更新用户名********',
    '**********0.退出**************',
    '******************************',
  ],
  menuPrompt: '',
  badChoice: '>>>>>>请输入合法的flag!<<<<<<',
  publicMode: '>>>>>>公聊模式,输入exit退出',
  publicPrompt: '>>>>>请输入聊天内容:',
  privateMode: '>>>>>>私聊模式,输入exit退出',
  targetPrompt: '>>>>>>请输入聊天对象(用户名),输入exit退出:',
  firstMessagePrompt: '>>>>>>请输入消息内容,输入exit退出:',
  messagePrompt: '>>>>>请输入消息内容,输入exit退出:',
  renamePrompt: '>>>>请输入用户名:',

  chatHint: '聊天模式:输入消息即发给所有人,输入/help查看命令',
  chatPrompt: '> ',
  chatHelp: [
    '/who              查看在线用户',
    '/nick 名字        更改用户名(也可用 /name)',
    '/msg 名字 内容    私聊',
    '/history 条数     最近说过的话(最多服务器允许的条数)',
    '/register         注册当前用户名(随后输入密码)',
    '/login 名字       登录(随后输入密码)',
    '/passwd           修改密码',
    '/logout           退出登录',
    '/quit             退出(也可用 /exit)',
    '//内容            发送以/开头的消息',
  ],
  unknownCommand: (command) => `未知命令:${command},输入/help查看命令`,
  nickUsage: '用法:/nick 名字',
  msgUsage: '用法:/msg 名字 内容',
  historyUsage: '用法:/history 条数(1或更多)',
  passwordPrompt: '密码(输入不显示,空行取消):',
  oldPasswordPrompt: '当前密码(输入不显示,空行取消):',
  newPasswordPrompt: '新密码(8到128字节,不能包含"|"):',
  passwordAgainPrompt: '再输入一次:',
  passwordsDiffer: '两次输入的密码不一致,已取消',
  passwordCancelled: '已取消',
  registerUsage: '用法:/register(注册当前用户名,密码随后输入,不显示)',
  loginUsage: '用法:/login 用户名(密码随后输入,不显示)',
  passwdUsage: '用法:/passwd(密码随后输入,不显示)',
  historyTruncated: '(消息太多,只显示最近的部分,更早的已略过)',
  historyUnknown: '(服务器已没有那条消息之后的记录,以下是最近的消息,之前可能有遗漏)',

  serverClosed: '服务器已断开连接',
  connectionClosed: '服务器意外断开了连接',
  connectionLost: (reason) => `与服务器的连接中断:${reason}`,
  serverLineTooLong: '(服务器发来的一行过长,已丢弃)',
};

export const en: ClientTexts = {
  lang: 'en',
  connected: '>>>>>>>>Connected to the server>>>>>>>>>',
  connectFailed: '>>>>>>>>Could not connect to the server>>>>>>>>',
  reason: reasonFrom(enReasons),
  cannotConnect: (address, reason) => `cannot connect to ${address}: ${reason}`,

  menu: [
    '*****************************',
    '**********1.Public chat******',
    '**********2.Private chat*****',
    '**********3.Change name******',
    '**********0.Quit*************',
    '******************************',
  ],
  menuPrompt: '',
  badChoice: '>>>>>>Please enter a valid choice!<<<<<<',
  publicMode: '>>>>>>Public chat, type exit to leave',
  publicPrompt: '>>>>>Message:',
  privateMode: '>>>>>>Private chat, type exit to leave',
  targetPrompt: '>>>>>>Chat with (user name), type exit to leave:',
  firstMessagePrompt: '>>>>>>Message, type exit to leave:',
  messagePrompt: '>>>>>Message, type exit to leave:',
  renamePrompt: '>>>>New user name:',

  chatHint: 'Chat mode: a line goes to everyone; /help lists the commands',
  chatPrompt: '> ',
  chatHelp: [
    '/who              who is online',
    '/nick NAME        change your name (or /name)',
    '/msg NAME TEXT    private message',
    '/history N        the last N lines said (up to what the server allows)',
    '/register         register your current name (the password is asked for)',
    '/login NAME       log in (the password is asked for)',
    '/passwd           change your password',
    '/logout           log out',
    '/quit             leave (or /exit)',
    '//TEXT            send a message that starts with /',
  ],
  unknownCommand: (command) => `Unknown command: ${command} (/help lists the commands)`,
  nickUsage: 'Usage: /nick NAME',
  msgUsage: 'Usage: /msg NAME TEXT',
  historyUsage: 'Usage: /history N (1 or more)',
  passwordPrompt: 'Password (not shown; an empty line cancels): ',
  oldPasswordPrompt: 'Current password (not shown; an empty line cancels): ',
  newPasswordPrompt: 'New password (8 to 128 bytes, no "|"): ',
  passwordAgainPrompt: 'Again: ',
  passwordsDiffer: 'The two passwords differ: cancelled',
  passwordCancelled: 'Cancelled',
  registerUsage: 'Usage: /register (registers your current name; the password is asked for, not shown)',
  loginUsage: 'Usage: /login NAME (the password is asked for, not shown)',
  passwdUsage: 'Usage: /passwd (the passwords are asked for, not shown)',
  historyTruncated: '(too much to show: only the latest lines follow, some were skipped)',
  historyUnknown: '(the server no longer has what came after that line: the latest lines follow, some may be missing)',

  serverClosed: 'The server closed the connection',
  connectionClosed: 'The server closed the connection unexpectedly',
  connectionLost: (reason) => `Connection to the server lost: ${reason}`,
  serverLineTooLong: '(a line from the server was too long and was dropped)',
};

export const clientTexts: Record<Lang, ClientTexts> = { zh, en };
