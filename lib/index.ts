/** rx-im as a library: the pieces the server and client are composed of. */
export { splitLines, TOO_LONG, type Framed } from './lines';
export { parseCommand, parseCommands, formatCommand, renderEvent, sanitize, nameProblem, nameKey, type Command, type Event } from './protocol';
export { texts, zh, en, type Lang, type Texts } from './texts';
export { idle, idleKick } from './idle';
export { rateLimit, RATE_LIMITED, FLOODING } from './rate-limit';
export { boundSendQueue } from './send-queue';
export { MemoryHub, type Hub, type Presence, type RenameResult } from './hub';
export { session, textOf, type Output, type Close, type CloseReason, type SessionOptions } from './session';
export { ChatServer, DEFAULTS, type ServerOptions, type Address } from './server';
export { formatAddress, type Peer } from './peer';
export { Line, Chunk, bytesOf, Outbox, type Outgoing } from './outbox';
export { concatMapNow, mergeWhile, feed } from './relay';
export { socketPeer } from './tcp/peer';
export { listenTcp } from './tcp/listen';
export { RedisHub, type RedisHubOptions } from './redis/hub';
