// `chub campaign serve`: the campaign's page (the report's, from the same view) on 127.0.0.1, kept up to date
// while runners work. A script in the page listens to server-sent events at /events and puts in each new
// rendering of the view; the server reads the store every `pollMs` while anyone is listening, and sends a
// rendering only when the view changed.
import * as http from 'http';
import { AddressInfo } from 'net';
import { campaignPage, viewHtml } from './campaign-report';
import { CampaignStore } from './campaign-store';
import { CampaignView, readView } from './campaign-view';

export interface ServeOptions {
  store: CampaignStore;
  /** 0: any free port. */
  port: number;
  /** How often the store is read while someone watches (default 1000 ms; less often if a read takes over a quarter of that). */
  pollMs?: number;
  /** Where a database that cannot be read is reported (the page says it too). */
  log?: (m: string) => void;
}

export interface CampaignServer {
  url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';

// EventSource reconnects by itself (after a restart of the server too); the indicator says when it is not live.
const LIVE = {
  head: '<p id="live">connecting…</p>\n',
  tail: `<script>
(() => {
  const live = document.getElementById('live');
  const events = new EventSource('/events');
  events.addEventListener('view', (e) => {
    const v = JSON.parse(e.data);
    document.getElementById('view').innerHTML = v.html;
    document.title = v.title;
    live.textContent = 'live';
  });
  events.addEventListener('problem', (e) => { live.textContent = JSON.parse(e.data); });
  events.onerror = () => { live.textContent = 'not connected: retrying…'; };
})();
</script>
`,
};

function event(name: string, data: unknown): string {
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

function listenError(e: NodeJS.ErrnoException, port: number): Error {
  if (e.code === 'EADDRINUSE') return new Error(`port ${port} on ${HOST} is in use: stop what holds it or choose another with --port`);
  if (e.code === 'EACCES') return new Error(`port ${port} on ${HOST} cannot be opened: permission denied (ports below 1024 need root)`);
  return new Error(`cannot listen on ${HOST}:${port}: ${e.message}`);
}

export async function serveCampaign(o: ServeOptions): Promise<CampaignServer> {
  const pollMs = o.pollMs ?? 1000;
  const clients = new Set<http.ServerResponse>();
  // The last view sent (without its time, which changes at every read) and its event; the standing problem.
  let lastKey = '';
  let lastView = '';
  let problem = '';
  let watching = false;
  let timer: NodeJS.Timeout | undefined;
  let polling: Promise<void> | undefined;
  let closed = false;
  const broadcast = (msg: string) => clients.forEach((c) => c.write(msg));

  const poll = async () => {
    const t0 = Date.now();
    try {
      const v = await readView(o.store);
      const key = JSON.stringify({ ...v, asOf: 0 });
      problem = '';
      if (key !== lastKey) {
        lastKey = key;
        lastView = event('view', { title: `Campaign ${v.name}`, html: viewHtml(v) });
        broadcast(lastView);
      }
    } catch (e) {
      const said = `cannot read the campaign database ${o.store.where}: ${(e as Error).message}`;
      if (said !== problem) {
        problem = said;
        o.log?.(said);
        broadcast(event('problem', said));
      }
      // Once it reads again, the view is sent even if unchanged, to replace the problem.
      lastKey = '';
    }
    watching = clients.size > 0 && !closed;
    // A large fleet's view takes a while to read and count: it is followed less often rather than keeping a core busy.
    if (watching) timer = setTimeout(() => (polling = poll()), Math.max(pollMs, 4 * (Date.now() - t0)));
  };

  const page = async (res: http.ServerResponse) => {
    let v: CampaignView;
    try {
      v = await readView(o.store);
    } catch (e) {
      res.writeHead(503, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`cannot read the campaign database ${o.store.where}: ${(e as Error).message}\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' }).end(campaignPage(v, LIVE));
  };

  const events = (req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 2000\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
    if (!watching) {
      // Nobody was watching: what was last sent may be stale, so read afresh and send to all.
      watching = true;
      lastKey = '';
      polling = poll();
    } else if (problem) res.write(event('problem', problem));
    else if (lastView) res.write(lastView);
  };

  let hosts: string[] = [];
  const server = http.createServer((req, res) => {
    // Only this machine's names: a page elsewhere cannot reach the campaign through a rebound DNS name.
    if (!hosts.includes(req.headers.host ?? '')) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end(`serving ${hosts[0]} only\n`);
      return;
    }
    if (req.method !== 'GET') res.writeHead(405, { Allow: 'GET' }).end();
    else if (req.url === '/') void page(res);
    else if (req.url === '/events') events(req, res);
    else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: the page is at /\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) => reject(listenError(e, o.port)));
    server.listen(o.port, HOST, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  hosts = [HOST, 'localhost'].flatMap((h) => (port === 80 ? [h, `${h}:80`] : [`${h}:${port}`]));

  return {
    url: `http://${HOST}:${port}/`,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      // The store is closed after this: no read may still be going on.
      await polling;
      clients.forEach((c) => c.end());
      clients.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
