'use strict';
// Shared helpers for the HBONE interop scripts. Node.js built-ins only (no npm packages).

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

// The TLS parameters of ztunnel (spec §4.3): TLS 1.3 only, AES-GCM suites, X25519 / P-256 / P-384.
const TLS13_CIPHERS = 'TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256';
const ECDH_CURVES = 'X25519:P-256:P-384';

// ztunnel's HTTP/2 settings (spec §4.4).
const MIB = 1 << 20;
const ZTUNNEL_SETTINGS = {
  initialWindowSize: 4 * MIB,
  maxFrameSize: MIB,
  enablePush: false,
};
const ZTUNNEL_CONNECTION_WINDOW = 16 * MIB;

/**
 * Parses `--name value` / `--name=value` / `--flag` arguments. Repeated names become arrays when
 * listed in `multi`. Unknown names are an error.
 */
function parseArgs(argv, spec) {
  const out = {};
  for (const [name, def] of Object.entries(spec)) {
    if (def.multi) out[name] = [];
    else if (def.default !== undefined) out[name] = def.default;
  }
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument '${arg}'`);
    arg = arg.slice(2);
    let value;
    const eq = arg.indexOf('=');
    if (eq >= 0) {
      value = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const def = spec[arg];
    if (!def) throw new Error(`unknown option --${arg} (known: ${Object.keys(spec).map((k) => '--' + k).join(', ')})`);
    if (def.flag) {
      out[arg] = value === undefined ? true : value !== 'false';
      continue;
    }
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`option --${arg} needs a value`);
      value = argv[++i];
    }
    if (def.multi) out[arg].push(value);
    else out[arg] = value;
  }
  for (const [name, def] of Object.entries(spec)) {
    if (def.required && (out[name] === undefined || (def.multi && out[name].length === 0))) {
      throw new Error(`option --${name} is required`);
    }
  }
  return out;
}

/** key.pem, cert-chain.pem and root-cert.pem of a certificate directory (TestCa's writeTo layout). */
function loadCerts(dir) {
  const read = (name) => {
    const p = path.join(dir, name);
    try {
      return fs.readFileSync(p);
    } catch (e) {
      throw new Error(`cannot read ${p}: ${e.message}`);
    }
  };
  return { key: read('key.pem'), cert: read('cert-chain.pem'), ca: read('root-cert.pem') };
}

/** The URI SANs of a certificate as returned by getPeerCertificate() / checkServerIdentity. */
function uriSans(cert) {
  if (!cert || !cert.subjectaltname) return [];
  // Format: "URI:spiffe://td/ns/a/sa/b, DNS:x". Values with ", " inside are quoted by Node; SPIFFE
  // ids never contain commas or quotes, so a plain split is enough here.
  return cert.subjectaltname
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4).replace(/^"(.*)"$/, '$1'));
}

const SPIFFE_RE = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/;

/** The trust domain of a SPIFFE id, or null when it is not an Istio SPIFFE id. */
function trustDomain(uri) {
  const m = SPIFFE_RE.exec(uri);
  return m ? m[1] : null;
}

/** The first URI SAN that is an Istio SPIFFE id, or null (spec §4.3: the peer identity). */
function firstSpiffeId(cert) {
  return uriSans(cert).find((u) => trustDomain(u) !== null) || null;
}

/** The trust domain of the first SPIFFE id in a PEM chain's first certificate. */
function ownTrustDomain(chainPem) {
  const leaf = new crypto.X509Certificate(chainPem);
  const uris = (leaf.subjectAltName || '')
    .split(', ')
    .filter((s) => s.startsWith('URI:'))
    .map((s) => s.slice(4));
  for (const u of uris) {
    const td = trustDomain(u);
    if (td) return td;
  }
  throw new Error('own certificate has no SPIFFE URI SAN');
}

/** `IP:port`, `[IPv6]:port` or `host:port` with port 1..65535 (spec §4.5 step 2). */
function validAuthority(a) {
  if (typeof a !== 'string' || a.length === 0) return false;
  let host;
  let port;
  const m6 = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(a);
  if (m6) {
    if (require('net').isIPv6(m6[1]) === false) return false;
    host = m6[1];
    port = m6[2];
  } else {
    const m = /^([^:\[\]\s]+):(\d{1,5})$/.exec(a);
    if (!m) return false;
    host = m[1];
    port = m[2];
    if (!require('net').isIPv4(host) && !/^[A-Za-z0-9_]([A-Za-z0-9_-]{0,62})(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,62}))*$/.test(host)) {
      return false;
    }
  }
  const p = Number(port);
  return p >= 1 && p <= 65535;
}

/** Deterministic payload: byte i = i mod 251 (a prime, so it never lines up with frame sizes). */
function pattern(n) {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = i % 251;
  return b;
}

function sha256(buf) {
  return crypto.createHash('sha256').update(buf).digest('hex');
}

/** Writes one JSON object per line on stdout. */
function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** A short, stable classification of an error: 'tls' for OpenSSL / certificate errors. */
function classify(err) {
  const code = (err && err.code) || '';
  const msg = (err && err.message) || String(err);
  if (err && err.identityMismatch) return 'identity';
  if (code.startsWith('ERR_SSL_') || /SSL|certificate|alert|CERT_|UNABLE_TO_|SELF_SIGNED/i.test(code + ' ' + msg)) return 'tls';
  if (code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_HTTP2_GOAWAY_SESSION' || code === 'ERR_HTTP2_SESSION_ERROR') return 'connection';
  if (code === 'ECONNREFUSED') return 'connect';
  if (code.startsWith('ERR_HTTP2_STREAM')) return 'stream';
  return 'other';
}

module.exports = {
  TLS13_CIPHERS,
  ECDH_CURVES,
  ZTUNNEL_SETTINGS,
  ZTUNNEL_CONNECTION_WINDOW,
  parseArgs,
  loadCerts,
  uriSans,
  trustDomain,
  firstSpiffeId,
  ownTrustDomain,
  validAuthority,
  pattern,
  sha256,
  emit,
  classify,
};
