#!/usr/bin/env node
'use strict';
// An independent HBONE client: HTTP/2 CONNECT over mutual TLS 1.3 with a SPIFFE check of the
// server, using only Node.js's built-in http2 / tls modules.
//
// Usage:
//   node hbone-client.js --certs DIR --connect HOST:PORT --authority TARGET --expect-id SPIFFE
//        [--expect-id SPIFFE ...] [--method CONNECT] [--bytes N | --stdin] [--timeout-ms 20000]
//        [--ztunnel-settings] [--ca ROOTS_PEM]
//
// DIR holds key.pem, cert-chain.pem (leaf first, then intermediates) and root-cert.pem; --ca
// replaces DIR/root-cert.pem as the roots the server chain is verified against.
// Output: JSON lines on stdout:
//   {"event":"tls", "protocol":"TLSv1.3", "alpn":"h2", "cipher":..., "peerId":..., "peerUris":[...]}
//   {"event":"response", "status":200, "headers":{...}}
//   {"event":"echo", "sent":N, "sentSha256":..., "received":N, "sha256":...}      (status 200 only)
//   {"event":"error", "kind":"tls|identity|connection|stream|status|timeout|other", "code":..., "message":...}
// Exit codes: 0 = 200 and the echo matched the payload; 2 = TLS handshake refused / failed;
// 3 = server identity not among --expect-id; 4 = non-200 status; 5 = timeout; 6 = echo mismatch;
// 1 = anything else (including bad arguments).

const http2 = require('http2');
const tls = require('tls');
const common = require('./common');

const EXIT = { ok: 0, other: 1, tls: 2, identity: 3, status: 4, timeout: 5, mismatch: 6, connection: 2, connect: 1, stream: 1 };

let finished = false;
let session = null;
// Node wraps the handshake error of a session into the pending stream's ERR_HTTP2_STREAM_CANCEL.
function rootCause(err) {
  let e = err;
  while (e && e.cause && e.code === 'ERR_HTTP2_STREAM_CANCEL') e = e.cause;
  return e;
}
function kindOf(err) {
  const e = rootCause(err);
  return e && e.identityMismatch ? 'identity' : common.classify(e);
}
function fail(kind, err, extra) {
  if (finished) return;
  finished = true;
  const cause = rootCause(err);
  common.emit(Object.assign({
    event: 'error',
    kind,
    code: (cause && cause.code) || null,
    message: (cause && cause.message) || String(cause),
  }, extra || {}));
  process.stderr.write(`hbone-client: ${kind}: ${(cause && cause.message) || cause}\n`);
  const code = EXIT[kind] === undefined ? 1 : EXIT[kind];
  // Close the HTTP/2 session gracefully (GOAWAY) when there is one, so the peer sees no reset.
  if (session && !session.destroyed) {
    setTimeout(() => process.exit(code), 1000).unref();
    session.close(() => process.exit(code));
  } else {
    process.exit(code);
  }
}

function done(code) {
  if (finished) return;
  finished = true;
  process.exit(code);
}

let args;
try {
  args = common.parseArgs(process.argv.slice(2), {
    certs: { required: true },
    ca: { default: undefined },
    connect: { required: true },
    authority: { default: undefined },
    'expect-id': { multi: true, required: true },
    method: { default: 'CONNECT' },
    bytes: { default: '0' },
    stdin: { flag: true },
    'timeout-ms': { default: '20000' },
    'ztunnel-settings': { flag: true },
  });
} catch (e) {
  fail('other', e);
}

const timeoutMs = Number(args['timeout-ms']);
setTimeout(() => fail('timeout', new Error(`no result within ${timeoutMs} ms`)), timeoutMs).unref();

const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(args.connect);
if (!m) fail('other', new Error(`--connect must be HOST:PORT, got '${args.connect}'`));
const host = m[1].replace(/^\[(.*)\]$/, '$1');
const port = Number(m[2]);
const certs = common.loadCerts(args.certs);
const expected = new Set(args['expect-id']);

function readPayload() {
  if (!args.stdin) return Promise.resolve(common.pattern(Number(args.bytes)));
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on('data', (c) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
}

// Replaces hostname verification (spec §4.3): the chain was verified against --certs' root by
// OpenSSL before this is called; accept only when a URI SAN of the leaf is an expected SPIFFE id.
function checkServerIdentity(_hostname, cert) {
  const uris = common.uriSans(cert);
  if (uris.some((u) => common.trustDomain(u) !== null && expected.has(u))) return undefined;
  const err = new Error(`server identity ${JSON.stringify(uris)} is not one of ${JSON.stringify([...expected])}`);
  err.code = 'ERR_HBONE_IDENTITY_MISMATCH';
  err.identityMismatch = true;
  return err;
}

readPayload().then((payload) => {
  session = http2.connect(`https://${host.includes(':') ? '[' + host + ']' : host}:${port}`, {
    // TLS (spec §4.3): TLS 1.3 only, ALPN exactly h2, no SNI, no resumption, our chain, their root.
    key: certs.key,
    cert: certs.cert,
    ca: args.ca ? require('fs').readFileSync(args.ca) : certs.ca,
    minVersion: 'TLSv1.3',
    maxVersion: 'TLSv1.3',
    ciphers: common.TLS13_CIPHERS,
    ecdhCurve: common.ECDH_CURVES,
    ALPNProtocols: ['h2'],
    servername: '', // an empty servername disables SNI
    rejectUnauthorized: true,
    checkServerIdentity,
    settings: args['ztunnel-settings'] ? common.ZTUNNEL_SETTINGS : { enablePush: false },
    // Node's default is to reset streams after 10000 streams / 10 MB of pending session data.
    maxSessionMemory: 64,
  });

  let tlsInfo = null;
  let closing = false;
  let socketError = null;
  session.on('connect', (sess, socket) => {
    socket.on('error', (err) => { socketError = socketError || err; });
    const peer = socket.getPeerCertificate();
    tlsInfo = {
      event: 'tls',
      protocol: socket.getProtocol(),
      alpn: socket.alpnProtocol,
      cipher: socket.getCipher() && socket.getCipher().standardName,
      servername: socket.servername || null,
      peerId: common.firstSpiffeId(peer),
      peerUris: common.uriSans(peer),
    };
    common.emit(tlsInfo);
    if (args['ztunnel-settings']) session.setLocalWindowSize(common.ZTUNNEL_CONNECTION_WINDOW);
  });
  session.on('error', (err) => {
    fail(kindOf(err), err, { afterHandshake: tlsInfo !== null });
  });
  session.on('close', () => {
    if (!finished && !closing) fail('connection', new Error('HTTP/2 session closed before the exchange completed'), { afterHandshake: tlsInfo !== null });
  });
  session.on('goaway', (errorCode, lastStreamId) => {
    process.stderr.write(`hbone-client: GOAWAY error=${errorCode} last=${lastStreamId}\n`);
  });

  const headers = { ':method': args.method };
  if (args.authority !== undefined) headers[':authority'] = args.authority;
  if (args.method !== 'CONNECT') {
    headers[':scheme'] = 'https';
    headers[':path'] = '/';
  }
  let req;
  try {
    req = session.request(headers, { endStream: false });
  } catch (e) {
    fail('other', e);
    return;
  }

  let status = null;
  req.on('response', (h) => {
    status = h[':status'];
    const plain = {};
    for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) plain[k] = v;
    common.emit({ event: 'response', status, headers: plain });
    if (status !== 200) {
      fail('status', new Error(`CONNECT answered with status ${status}`), { status });
      return;
    }
    // The tunnel is open: write the payload, half-close, read the echo until END_STREAM.
    const received = [];
    let receivedLen = 0;
    req.on('data', (c) => {
      received.push(c);
      receivedLen += c.length;
    });
    req.on('end', () => {
      const echo = Buffer.concat(received, receivedLen);
      const result = {
        event: 'echo',
        sent: payload.length,
        sentSha256: common.sha256(payload),
        received: echo.length,
        sha256: common.sha256(echo),
      };
      common.emit(result);
      closing = true;
      session.close(() => {
        if (result.sha256 === result.sentSha256 && result.sent === result.received) done(0);
        else fail('mismatch', new Error(`echo differs: sent ${result.sent} bytes, received ${result.received}`));
      });
    });
    req.end(payload);
  });
  req.on('error', (err) => fail(kindOf(err), err, { afterHandshake: tlsInfo !== null }));
  req.on('close', () => {
    if (status === null && !finished) {
      // A TLS 1.3 client finishes its handshake before the server has checked the client
      // certificate, so the server's refusal (an alert, or a closed socket) arrives after the
      // request was sent. Give the session's error a moment to arrive: it is the better reason.
      const rstCode = req.rstCode;
      setTimeout(() => fail(socketError ? kindOf(socketError) : 'stream',
        socketError || new Error(`stream closed without a response (RST_STREAM code ${rstCode})`),
        { rstCode, afterHandshake: tlsInfo !== null }), 200);
    }
  });
}).catch((e) => fail('other', e));
