// The server that bench/load.ts puts under load, in a process of its own so
// that the load generator does not share its event loop. Started with
// `plain` or `gated`, and for `gated` optionally the directory of another
// checkout whose gate to use; it waits for its configuration over IPC,
// listens on a free loopback port and reports the port back, then answers
// each further message with the CPU time it has used.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pathToFileURL } from 'node:url';
import type * as NodeAdapter from '../src/adapters/node.js';
import type * as GateModule from '../src/gate.js';

const root =
  process.argv[3] === undefined ? new URL('..', import.meta.url) : dirUrl(process.argv[3]);
const { guard }: typeof NodeAdapter = await import(new URL('src/adapters/node.ts', root).href);
const { createGate }: typeof GateModule = await import(new URL('src/gate.ts', root).href);

/** dirUrl is the file URL of directory `path`, with the slash that URLs resolve against. */
function dirUrl(path: string): URL {
  return new URL(`${pathToFileURL(path).href}/`);
}

/** Setup is what the parent sends: the allowlist and the trusted proxies. */
export interface Setup {
  allow: string[];
  trustedProxies: string[];
}

const mode = process.argv[2];
if (mode !== 'plain' && mode !== 'gated') throw new Error(`load-server: mode ${mode}`);

function handler(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.end('ok\n');
}

process.once('message', (setup: Setup) => {
  const listener =
    mode === 'plain'
      ? handler
      : guard(
          createGate({
            allow: setup.allow,
            behindProxy: true,
            trustedProxies: setup.trustedProxies,
          }),
          handler,
        );
  const server = createServer(listener);
  server.listen(0, '127.0.0.1', () => {
    const address = server.address();
    process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
  });
  // Any later message asks how much CPU time the server has used, in µs.
  process.on('message', () => {
    const usage = process.cpuUsage();
    process.send!({ cpuMicros: usage.user + usage.system });
  });
  // The parent closes the IPC channel when it is done (or gone); leave with it.
  process.once('disconnect', () => process.exit(0));
});
