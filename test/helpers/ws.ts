/** A websocket test client that queues messages and records how the socket closed. */
import WebSocket from 'ws';

export interface Closed {
  code: number;
  reason: string;
}

export class TestSocket {
  readonly messages: unknown[] = [];
  readonly closed: Promise<Closed>;
  private waiters: Array<(m: unknown) => void> = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data, isBinary) => {
      const m: unknown = isBinary ? data : JSON.parse(data.toString());
      const waiter = this.waiters.shift();
      if (waiter) waiter(m);
      else this.messages.push(m);
    });
    ws.on('error', () => undefined);
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  }

  static open(url: string, options: WebSocket.ClientOptions = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(new TestSocket(ws)));
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' || Buffer.isBuffer(message) ? message : JSON.stringify(message));
  }

  /** The next message, or a rejection after `ms`. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a parsed server message of any shape; tests assert on it field by field
  next(ms = 5000): Promise<any> {
    const queued = this.messages.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
      this.waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  /** Every message until the socket closes, and the close. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- as next()
  async drain(): Promise<{ messages: any[]; close: Closed }> {
    const close = await this.closed;
    return { messages: this.messages.splice(0), close };
  }
}

/** Buffer JSON, as the browser example sends it. */
export function bufferJson(bytes: Uint8Array): { type: 'Buffer'; data: number[] } {
  return { type: 'Buffer', data: Array.from(bytes) };
}
