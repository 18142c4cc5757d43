/**
 * Real servers on loopback and real HTTP requests to them, for the adapter
 * tests. Every request opens its own connection (no agent) unless given an
 * agent, so that a server closes promptly and one test's sockets never
 * serve another's.
 */

import type { Agent, Server } from 'node:http';
import { request as httpRequest, type OutgoingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';

/** LOOPBACKS are the hosts every adapter test runs on. */
export const LOOPBACKS = ['127.0.0.1', '::1'] as const;

/** Loopback is one of LOOPBACKS. */
export type Loopback = (typeof LOOPBACKS)[number];

/** Reply is what a test needs of a response. */
export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** isReused tells whether the request went over a connection kept alive. */
  isReused?: boolean;
}

/** SendOptions describe one request. */
export interface SendOptions {
  host: string;
  port: number;
  path?: string;
  method?: string;
  /** Header values given as arrays are sent as several lines. */
  headers?: OutgoingHttpHeaders;
  body?: string;
  /** localAddress picks the client's address, e.g. 127.0.0.2. */
  localAddress?: string;
  /** agent keeps connections alive between requests; by default there is none. */
  agent?: Agent;
}

/** listen starts `server` on `host` with a free port and returns the port. */
export function listen(server: Server, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** close stops `server`, dropping any connection left open. */
export function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}

/** send makes one HTTP/1.1 request and reads the whole response. */
export function send(options: SendOptions): Promise<Reply> {
  const { body, ...rest } = options;
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...rest, agent: rest.agent ?? false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        text += chunk;
      });
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: text,
          isReused: req.reusedSocket,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/**
 * sendRaw writes `head` (a request line and headers, without the blank line)
 * to a fresh connection, for request targets that node:http will not send,
 * and returns the status code of the answer (0 when the server closes the
 * connection without one).
 */
export function sendRaw(host: string, port: number, head: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      text += chunk;
    });
    socket.on('end', () => resolve(Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0)));
    socket.on('error', reject);
    socket.end(`${head}\r\nConnection: close\r\n\r\n`, 'latin1');
  });
}

/**
 * UpgradeReply is the answer to an upgrade request: the status, the body of
 * a refusal, and whether the server closed the connection afterwards.
 */
export interface UpgradeReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  isClosed: boolean;
}

/**
 * sendUpgrade asks for a WebSocket upgrade and reads the answer: a 101
 * (the connection is then closed from this side) or a refusal, read to
 * the end of the connection.
 */
export function sendUpgrade(options: SendOptions): Promise<UpgradeReply> {
  const headers = { connection: 'Upgrade', upgrade: 'websocket', ...options.headers };
  return new Promise((resolve, reject) => {
    const req = httpRequest({ ...options, headers, agent: false });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '', isClosed: false });
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => {
        // A refusal closes the connection; give it two seconds to go.
        const finish = (isClosed: boolean) =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, isClosed });
        const socket = res.socket;
        if (socket === null || socket.destroyed) return finish(true);
        const timer = setTimeout(() => {
          socket.destroy();
          finish(false);
        }, 2000);
        socket.once('close', () => {
          clearTimeout(timer);
          finish(true);
        });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Latch is a promise that a test resolves by hand. */
export interface Latch {
  promise: Promise<void>;
  release: () => void;
}

/** latch returns an unresolved promise and the function that resolves it. */
export function latch(): Latch {
  let release = (): void => {};
  const promise = new Promise<void>((resolve) => {
    release = resolve;
  });
  return { promise, release };
}

/** until waits, polling, until `condition` holds. */
export async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`Expected ${what} within 5 seconds`);
}
