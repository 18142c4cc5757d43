/**
 * What the adapters share: reading a Node request for the gate, the denial
 * response, and the checks on their arguments.
 */
import { IncomingMessage, type ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { invalid, quote } from '../errors.js';
import type { Gate, Verdict } from '../gate.js';

declare module 'http' {
  interface IncomingMessage {
    /** ipgate is the gate's verdict, set by an ipgate adapter. */
    ipgate?: Verdict;
  }
}

declare module 'http2' {
  interface Http2ServerRequest {
    /** ipgate is the gate's verdict, set by the `ipgate/node` adapter. */
    ipgate?: Verdict;
  }
}

/** NodeRequest is a request of `node:http`, `node:https` or `node:http2`. */
export type NodeRequest = IncomingMessage | Http2ServerRequest;

/** NodeResponse is the response that goes with a NodeRequest. */
export type NodeResponse = ServerResponse | Http2ServerResponse;

/** DENIED_TEXT is the plain-text body of a denial. */
export const DENIED_TEXT = 'Forbidden\n';

/** DENIED_JSON is the body of a denial for a client that prefers JSON. */
export const DENIED_JSON = '{"error":"forbidden"}';

/**
 * checkNodeRequest asks `gate` about a Node request. Never throws.
 *
 * NOTE: where the request has an `originalUrl` besides its `url`, it is
 * exempt only when both paths are. Express and Connect cut the mount path
 * off `req.url` inside a mounted middleware, so that under
 * `app.use('/admin', ...)` a request for `/admin/capture` would look like
 * the exempt `/capture`; Fastify's `rewriteUrl` keeps the client's path as
 * `originalUrl` and routes by the rewritten `url`, so that a rewrite of
 * `/static/v1/admin` to `/admin` would pass as the exempt `static`.
 */
export function checkNodeRequest(gate: Gate, req: NodeRequest): Verdict {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  const remoteAddress = peerOf(req);
  const headers = req.headers;
  const url = req.url;
  if (typeof original !== 'string' || original === url) {
    return gate.check({ remoteAddress, headers, url });
  }
  const verdict = gate.check({ remoteAddress, headers, url: original });
  return verdict.reason === 'exempt' ? gate.check({ remoteAddress, headers, url }) : verdict;
}

// The peer of each connection, read once and kept on the socket under a
// symbol of this module, as Node itself keeps it once read: the
// remoteAddress getter costs two megamorphic property loads on every read,
// about 8% of the gate's own samples in a profile of a server under load
// (bench/load.ts), and a keep-alive connection carries many requests. A
// WeakMap of sockets measured no cheaper there: a cold hash lookup per
// request.
const PEER = Symbol('ipgate peer');

/** PeerSocket is a request's socket as peerOf reads it. */
interface PeerSocket {
  [PEER]?: string;
  remoteAddress?: unknown;
}

/**
 * peerOf returns the remote address of `req`'s connection, undefined when
 * it has none (yet). Once a node:http socket has given an address, that is
 * its address. An http2 compatibility request hands out a new proxy of its
 * session's socket per request, which would gain nothing; its peer is read
 * afresh.
 */
function peerOf(req: NodeRequest): string | undefined {
  const socket = req.socket as unknown as PeerSocket | null | undefined;
  if (typeof socket !== 'object' || socket === null) return undefined;
  const isKept = req instanceof IncomingMessage;
  if (isKept) {
    const known = socket[PEER];
    if (known !== undefined) return known;
  }
  const address = socket.remoteAddress;
  if (typeof address !== 'string') return undefined;
  if (isKept) keepPeer(socket, address);
  return address;
}

/** keepPeer remembers `address` on `socket`, unless the socket is frozen. */
function keepPeer(socket: PeerSocket, address: string): void {
  try {
    socket[PEER] = address;
  } catch {
    // A frozen or sealed stand-in for a socket: read it afresh each time.
  }
}

/**
 * prefersJson reports whether an `Accept` header ranks `application/json`
 * above `text/plain` (RFC 9110 section 12.5.1: the most specific matching
 * range gives a type its weight). A tie, no header or a malformed one
 * prefers plain text.
 */
export function prefersJson(accept: string | string[] | undefined): boolean {
  if (accept === undefined) return false;
  const text = Array.isArray(accept) ? accept.join(',') : accept;
  if (!/json/i.test(text)) return false;

  const json = { weight: 0, specificity: -1 };
  const plain = { weight: 0, specificity: -1 };
  for (const element of text.split(',')) {
    const [range = '', ...params] = element.split(';');
    const [type, subtype] = range.trim().toLowerCase().split('/');
    const weight = weightOf(params);
    if (type === undefined || subtype === undefined || Number.isNaN(weight)) continue;
    rank(json, 'application', 'json', type, subtype, weight);
    rank(plain, 'text', 'plain', type, subtype, weight);
  }
  return json.weight > plain.weight;
}

/** Preference is the weight of one media type and how it was found. */
interface Preference {
  weight: number;
  specificity: number;
}

/** rank records `weight` for `want` when the range is the most specific yet. */
function rank(
  want: Preference,
  type: string,
  subtype: string,
  rangeType: string,
  rangeSubtype: string,
  weight: number,
): void {
  let specificity = -1;
  if (rangeType === type && rangeSubtype === subtype) specificity = 2;
  else if (rangeType === type && rangeSubtype === '*') specificity = 1;
  else if (rangeType === '*' && rangeSubtype === '*') specificity = 0;
  if (specificity > want.specificity) {
    want.specificity = specificity;
    want.weight = weight;
  }
}

/** weightOf reads the `q` parameter: 1 when absent, NaN when malformed. */
function weightOf(params: string[]): number {
  for (const param of params) {
    const [name = '', value = ''] = param.split('=');
    if (name.trim().toLowerCase() !== 'q') continue;
    // RFC 9110 section 12.4.2: qvalue = 0 to 1 with at most three decimals.
    const text = value.trim();
    return /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/.test(text) ? Number(text) : Number.NaN;
  }
  return 1;
}

/**
 * sendDenied answers 403 with a short neutral body, plain text or JSON as
 * the request prefers. It names no product and says nothing about why, and
 * asks caches not to keep it, since the same URL is allowed to others.
 */
export function sendDenied(req: NodeRequest, res: NodeResponse): void {
  const isJson = prefersJson(req.headers.accept);
  const body = isJson ? DENIED_JSON : DENIED_TEXT;
  const headers = deniedHeaders(isJson, body);
  (res as ServerResponse).writeHead(403, headers);
  res.end(body);
}

/** deniedHeaders are the headers of a denial with `body`. */
export function deniedHeaders(isJson: boolean, body: string): Record<string, string> {
  return {
    'content-type': isJson ? 'application/json; charset=utf-8' : 'text/plain; charset=utf-8',
    'content-length': String(Buffer.byteLength(body)),
    'cache-control': 'no-store',
  };
}

/**
 * finishDenied sends the default denial unless the response has already
 * been started, for an `onDenied` hook that only looked (to log, say).
 */
export function finishDenied(req: NodeRequest, res: NodeResponse): void {
  if (!res.headersSent && !res.writableEnded) sendDenied(req, res);
}

/** isThenable reports whether `value` looks like a promise. */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as PromiseLike<unknown>).then === 'function'
  );
}

/**
 * asError returns `error` if it is an Error, or an Error that wraps it. A
 * framework's `next` or `done` takes a falsy value, or Express's `'route'`
 * and `'router'`, as leave to go on, which must never happen for a denied
 * request whose `onDenied` failed.
 */
export function asError(error: unknown): Error {
  if (error instanceof Error) return error;
  return new Error(`onDenied failed with ${name(error)}`, { cause: error });
}

/**
 * checkGate throws ERR_INVALID_OPTION unless `gate` is a Gate, or at least
 * has its methods (a second copy of ipgate makes `instanceof` unreliable).
 */
export function checkGate(where: string, gate: unknown): asserts gate is Gate {
  const candidate = gate as Partial<Gate> | null | undefined;
  if (typeof candidate?.check === 'function' && typeof candidate.secure === 'function') return;
  throw invalid(
    'ERR_INVALID_OPTION',
    `${where}: gate must be a Gate from createGate, not ${name(gate)}`,
  );
}

/** checkFunction throws ERR_INVALID_OPTION unless `value` is a function. */
export function checkFunction(where: string, label: string, value: unknown): void {
  if (typeof value === 'function') return;
  throw invalid('ERR_INVALID_OPTION', `${where}: ${label} must be a function, not ${name(value)}`);
}

/** checkOptionsObject throws ERR_INVALID_OPTION unless `value` is an object. */
export function checkOptionsObject(where: string, value: unknown): void {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) return;
  throw invalid('ERR_INVALID_OPTION', `${where}: options must be an object, not ${name(value)}`);
}

/** name describes a bad argument for an error message. */
function name(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'function') return 'a function';
  return `${quote(String(value))} (a ${typeof value})`;
}
