/**
 * Requests Node's HTTP parser refuses before any middleware runs (headers over Node's
 * limit, malformed HTTP, a header timeout) still get keygate's JSON error body.
 */
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { AuthError } from '../errors.js';
import { renderHttpError } from './http/error-status.js';

function refusal(code: string | undefined): AuthError {
  if (code === 'HPE_HEADER_OVERFLOW') return new AuthError('headers_too_large');
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return new AuthError('request_timeout');
  return new AuthError('invalid_request', 'The request is not valid HTTP.');
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', function refuseMalformedRequest(err: NodeJS.ErrnoException, socket: Duplex) {
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const { status, body } = renderHttpError(refusal(err.code));
    const json = JSON.stringify(body);
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(json)}\r\nConnection: close\r\n\r\n${json}`);
  });
}
