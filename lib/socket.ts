/** A TCP socket's incoming bytes as an Observable: the one adapter both server and client use. */
import type { Socket } from 'node:net';
import { Observable } from 'rxjs';

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
