#!/usr/bin/env node
// DNS server for the browser tests: Debian's dnsmasq on a loopback port, answering the TXT
// records the tests publish (and NXDOMAIN for any other name under .test), with a small HTTP
// API to publish records. Terminus Hub is started with TERMINUS_DNS_SERVERS=<dns>.
//
// Usage: node end2end/support/dns-server.mjs [--verbose]
// Once dnsmasq answers it prints one line to stdout:
//   {"dns":"127.0.0.1:<port>","http":<port>}
// API (on 127.0.0.1:<http>):
//   POST /records {"name":"_terminus-hub-challenge.acme.test","value":"terminus-hub-verification=…"}
//        → 204 once dnsmasq answers with every record published so far (it is restarted
//          on the same port, since dnsmasq reads --txt-record only at start)
// It stops dnsmasq and exits on SIGTERM/SIGINT and when its standard input closes.
import { spawn } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import process from 'node:process';
import { createInterface } from 'node:readline';

const verbose = process.argv.includes('--verbose');
const log = verbose ? (m) => process.stderr.write(`dns-server: ${m}\n`) : () => {};
const DNSMASQ = ['/usr/sbin/dnsmasq', '/usr/bin/dnsmasq', '/sbin/dnsmasq'].find((p) => fs.existsSync(p));
if (!DNSMASQ) {
  process.stderr.write('dns-server: dnsmasq not found (apt-get install dnsmasq-base)\n');
  process.exit(2);
}

const bindsUdp = (port) =>
  new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
const bindsTcp = (port) =>
  new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });

// A port below the kernel's ephemeral range (32768 and up), free for UDP and TCP (dnsmasq
// binds both): no bind(…:0) elsewhere can take it while dnsmasq restarts on it.
async function freePort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if ((await bindsUdp(port)) && (await bindsTcp(port))) return port;
  }
}

const port = await freePort();
const records = [];
let dnsmasq;

/** (Re)starts dnsmasq with `records`; resolves once it logs that it started. */
async function restart() {
  if (dnsmasq && dnsmasq.exitCode === null) {
    const exited = new Promise((r) => dnsmasq.once('exit', r));
    dnsmasq.kill('SIGTERM');
    await exited;
  }
  const args = [
    '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll',
    '--bind-interfaces', '--listen-address=127.0.0.1', '--pid-file=', '--log-facility=-',
    '--local=/test/', `--port=${port}`,
    ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ...records.map(({ name, value }) => `--txt-record=${name},${value}`),
  ];
  dnsmasq = spawn(DNSMASQ, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = createInterface({ input: dnsmasq.stderr });
  await new Promise((resolve, reject) => {
    const seen = [];
    const onExit = (code) => reject(new Error(`dnsmasq exited (${code}): ${seen.join(' | ')}`));
    dnsmasq.once('exit', onExit);
    lines.on('line', (line) => {
      log(line);
      seen.push(line);
      if (line.includes('started')) {
        dnsmasq.off('exit', onExit);
        resolve();
      }
    });
  });
}

await restart();

const api = http.createServer((req, res) => {
  if (req.method !== 'POST' || req.url !== '/records') {
    res.writeHead(404).end();
    return;
  }
  let body = '';
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    try {
      const { name, value } = JSON.parse(body);
      if (typeof name !== 'string' || typeof value !== 'string' || /[,\s]/.test(name)) {
        throw new Error('name and value are strings; the name has no commas or spaces');
      }
      records.push({ name, value });
      await restart();
      log(`published ${name} TXT ${value}`);
      res.writeHead(204).end();
    } catch (err) {
      res.writeHead(400, { 'content-type': 'text/plain' }).end(`${err.message}\n`);
    }
  });
});
await new Promise((r) => api.listen(0, '127.0.0.1', r));

function shutdown() {
  if (dnsmasq && dnsmasq.exitCode === null) dnsmasq.kill('SIGTERM');
  api.close();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
process.stdin.on('end', shutdown);
process.stdin.on('close', shutdown);
process.stdin.resume();
process.stdout.on('error', () => {});

process.stdout.write(`${JSON.stringify({ dns: `127.0.0.1:${port}`, http: api.address().port })}\n`);
