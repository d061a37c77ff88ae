/** A TCP socket's incoming bytes as an Observable: the one adapter both server and client use. */
import type { Socket } from 'node:net';
import { Observable, type Subscriber, type Unsubscribable } from 'rxjs';
import { type Framed, LineSplitter, checkMaxLineBytes } from './lines';

/** Completes on the peer's FIN (or a close), errors on a reset or any other socket error. */
export function socketBytes(socket: Socket): Observable<Buffer> {
  return new Observable<Buffer>((subscriber) => {
    const onData = (chunk: Buffer) => subscriber.next(chunk);
    const onEnd = () => subscriber.complete();
    const onError = (err: Error) => subscriber.error(err);
    socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onError);
    return () => {
      socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError);
    };
  });
}

/**
 * A socket's lines: `socketBytes(socket).pipe(splitLines(maxLineBytes))` (spec/lines.spec.ts
 * checks the two agree on random chunkings), as one object per subscription: the server holds
 * one of these per connection for as long as it is connected.
 */
export function socketLines(socket: Socket, maxLineBytes: number): Observable<Framed> {
  checkMaxLineBytes(maxLineBytes);
  return new Observable<Framed>((subscriber) => new SocketLines(socket, subscriber, maxLineBytes));
}

class SocketLines implements Unsubscribable {
  private readonly splitter: LineSplitter;

  constructor(
    private readonly socket: Socket,
    private readonly out: Subscriber<Framed>,
    maxLineBytes: number,
  ) {
    this.splitter = new LineSplitter(out, maxLineBytes);
    socket.on('data', this.onData).on('end', this.onEnd).on('close', this.onEnd).on('error', this.onError);
  }

  // An exception in the framing reaches `error`, as in an operator (lib/operate.ts).
  private readonly onData = (chunk: Buffer): void => {
    try {
      this.splitter.next(chunk);
    } catch (err) {
      this.out.error(err);
    }
  };

  private readonly onEnd = (): void => {
    if (this.out.closed) return;
    try {
      this.splitter.complete();
    } catch (err) {
      this.out.error(err);
    }
  };

  private readonly onError = (err: Error): void => this.out.error(err);

  unsubscribe(): void {
    this.socket.off('data', this.onData).off('end', this.onEnd).off('close', this.onEnd).off('error', this.onError);
  }
}
