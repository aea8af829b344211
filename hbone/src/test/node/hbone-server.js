#!/usr/bin/env node
'use strict';
// An independent HBONE server: accepts HTTP/2 CONNECT over mutual TLS 1.3 and echoes the tunnel's
// bytes, using only Node.js's built-in http2 / tls modules.
//
// Usage:
//   node hbone-server.js --certs DIR [--host 127.0.0.1] [--port 0] [--mode echo|reject-401]
//        [--trust-domain TD] [--ztunnel-settings] [--ca ROOTS_PEM] [--exit-on-stdin-eof]
//
// DIR holds key.pem, cert-chain.pem (leaf first, then intermediates) and root-cert.pem.
// The client certificate is required and verified against root-cert.pem; then at least one of its
// SPIFFE URI SANs must be in TD (default: the trust domain of our own certificate), else the
// connection is closed before any stream is served (spec §4.3).
// Per stream (spec §4.5): method not CONNECT => 400; :authority not IP:port / host:port => 400;
// --mode reject-401 => 401; else 200 and every byte is echoed back; our END_STREAM follows the
// client's.
// Output: "listening <port>" on stdout when ready, then JSON lines:
//   {"event":"connection", "peerId":..., "peerUris":[...], "protocol":..., "alpn":..., "accepted":bool, "reason":...}
//   {"event":"stream", "method":..., "authority":..., "peerId":..., "status":N}
//   {"event":"echoed", "authority":..., "bytes":N, "sha256":...}
// Runs until killed (or stdin closes, when --exit-on-stdin-eof is given).

const http2 = require('http2');
const common = require('./common');

let args;
try {
  args = common.parseArgs(process.argv.slice(2), {
    certs: { required: true },
    ca: { default: undefined },
    host: { default: '127.0.0.1' },
    port: { default: '0' },
    mode: { default: 'echo' },
    'trust-domain': { default: undefined },
    'ztunnel-settings': { flag: true },
    'exit-on-stdin-eof': { flag: true },
  });
  if (!['echo', 'reject-401'].includes(args.mode)) throw new Error(`unknown --mode ${args.mode} (echo, reject-401)`);
} catch (e) {
  process.stderr.write(`hbone-server: ${e.message}\n`);
  process.exit(1);
}

const certs = common.loadCerts(args.certs);
const trustDomain = args['trust-domain'] || common.ownTrustDomain(certs.cert);

const server = http2.createSecureServer({
  key: certs.key,
  cert: certs.cert,
  ca: args.ca ? require('fs').readFileSync(args.ca) : certs.ca,
  requestCert: true,
  rejectUnauthorized: true,
  minVersion: 'TLSv1.3',
  maxVersion: 'TLSv1.3',
  ciphers: common.TLS13_CIPHERS,
  ecdhCurve: common.ECDH_CURVES,
  ALPNProtocols: ['h2'],
  allowHTTP1: false,
  settings: args['ztunnel-settings']
    ? Object.assign({ maxConcurrentStreams: 200 }, common.ZTUNNEL_SETTINGS)
    : { maxConcurrentStreams: 200 },
  maxSessionMemory: 64,
});

// Runs after the http2 module's own listener (which created the session): the chain is verified
// by now (rejectUnauthorized); check the trust domain and close the connection when it is wrong.
server.on('secureConnection', (socket) => {
  const peer = socket.getPeerCertificate();
  const uris = common.uriSans(peer);
  const inDomain = uris.some((u) => common.trustDomain(u) === trustDomain);
  const info = {
    event: 'connection',
    peerId: common.firstSpiffeId(peer),
    peerUris: uris,
    protocol: socket.getProtocol(),
    alpn: socket.alpnProtocol,
    servername: socket.servername || null,
    accepted: inDomain,
  };
  if (!inDomain) info.reason = `no SPIFFE URI SAN in trust domain ${trustDomain}`;
  common.emit(info);
  if (!inDomain) socket.destroy();
});

server.on('tlsClientError', (err) => {
  common.emit({ event: 'tlsClientError', kind: common.classify(err), code: err.code || null, message: err.message });
});

server.on('session', (session) => {
  if (args['ztunnel-settings']) session.setLocalWindowSize(common.ZTUNNEL_CONNECTION_WINDOW);
  session.on('error', (err) => common.emit({ event: 'sessionError', code: err.code || null, message: err.message }));
});

server.on('stream', (stream, headers) => {
  const socket = stream.session && stream.session.socket;
  if (!socket || socket.destroyed) {
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  const peer = socket ? socket.getPeerCertificate() : null;
  const peerId = common.firstSpiffeId(peer);
  const method = headers[':method'];
  const authority = headers[':authority'];
  const answer = (status) => {
    common.emit({ event: 'stream', method, authority: authority === undefined ? null : authority, peerId, status });
  };
  stream.on('error', (err) => common.emit({ event: 'streamError', authority, code: err.code || null, message: err.message }));

  let status;
  if (method !== 'CONNECT') status = 400;
  else if (!common.validAuthority(authority)) status = 400;
  else if (!peerId || common.trustDomain(peerId) !== trustDomain) status = 401; // defence in depth
  else if (args.mode === 'reject-401') status = 401;
  else status = 200;
  answer(status);

  if (status !== 200) {
    stream.respond({ ':status': status }, { endStream: true });
    return;
  }
  stream.respond({ ':status': 200 });
  let total = 0;
  const hash = require('crypto').createHash('sha256');
  stream.on('data', (c) => {
    total += c.length;
    hash.update(c);
    if (!stream.write(c)) {
      stream.pause();
      stream.once('drain', () => stream.resume());
    }
  });
  stream.on('end', () => {
    // The client half-closed: finish our half after everything was echoed.
    stream.end(() => common.emit({ event: 'echoed', authority, bytes: total, sha256: hash.digest('hex') }));
  });
});

server.on('error', (err) => {
  process.stderr.write(`hbone-server: ${err.message}\n`);
  process.exit(1);
});

server.listen(Number(args.port), args.host, () => {
  process.stdout.write(`listening ${server.address().port}\n`);
});

if (args['exit-on-stdin-eof']) {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
