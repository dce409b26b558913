/**
 * A bare Redis subscriber on a plain net.Socket, for the raw-socket floor
 * (floor.ts): it sends SUBSCRIBE as RESP and hands the payload of each pushed
 * `message` to `onMessage`, with no client library in between. It parses only
 * what a subscriber receives: arrays of bulk strings and integers.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';

type Value = string | number | null | Value[];

const CRLF = 0x0d;

/** One RESP value of `buf` from `at`, and where the next one starts; undefined until it has all arrived. */
function parse(buf: Buffer, at: number): [Value, number] | undefined {
  const eol = buf.indexOf(CRLF, at);
  if (eol < 0 || eol + 1 >= buf.length) return undefined;
  const head = buf.toString('latin1', at + 1, eol);
  const next = eol + 2;
  switch (String.fromCharCode(buf[at]!)) {
    case '+':
      return [head, next];
    case ':':
      return [Number(head), next];
    case '$': {
      const len = Number(head);
      if (len < 0) return [null, next];
      if (buf.length < next + len + 2) return undefined;
      return [buf.toString('utf8', next, next + len), next + len + 2];
    }
    case '*': {
      const items: Value[] = [];
      let pos = next;
      for (let i = 0; i < Number(head); i++) {
        const item = parse(buf, pos);
        if (!item) return undefined;
        items.push(item[0]);
        pos = item[1];
      }
      return [items, pos];
    }
    default:
      throw new Error(`redis answered ${buf.toString('latin1', at, eol)}`);
  }
}

/** Subscribes to `channel`; resolves once Redis confirms, with the socket (destroy it to stop). */
export function rawSubscribe(url: string, channel: string, onMessage: (payload: string) => void): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port) || 6379, hostname);
    socket.setNoDelay(true);
    socket.once('error', reject);
    let pending: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      for (let value = parse(pending, at); value; value = parse(pending, at)) {
        at = value[1];
        const [kind, , payload] = value[0] as Value[];
        if (kind === 'message') onMessage(payload as string);
        else if (kind === 'subscribe') resolve(socket);
      }
      pending = pending.subarray(at);
    });
    socket.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${Buffer.byteLength(channel)}\r\n${channel}\r\n`);
  });
}
