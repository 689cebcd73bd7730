/**
 * RFC 3161 time-stamp tokens: parse a TimeStampResp, and check a token
 * offline against a Merkle root.
 *
 * The ASN.1 is read with pkijs (TimeStampResp, ContentInfo, SignedData,
 * TSTInfo, Certificate) and certificate paths are validated with its
 * `CertificateChainValidationEngine`. The CMS signature itself is checked
 * here with `node:crypto`, because pkijs's `SignedData.verify` insists on
 * re-hashing the time-stamped *data* to compare with the imprint, and our
 * imprint IS the data: the Merkle root is already a SHA-256 output, so it is
 * sent as `hashedMessage` with `hashAlgorithm = sha256` (nobody holds a
 * preimage to hash). The checks follow RFC 3161 §2.4.2 and RFC 5652 §5.4:
 *
 * 1. the token is a ContentInfo of type signedData holding an id-ct-TSTInfo;
 * 2. `TSTInfo.messageImprint` is (sha256, the 32 root bytes); the nonce, if
 *    one was sent, comes back unchanged;
 * 3. exactly one SignerInfo, with signed attributes: content-type is
 *    id-ct-TSTInfo, message-digest equals the digest of the TSTInfo DER;
 * 4. the signature over the DER of the signed attributes verifies with the
 *    signer's public key (ECDSA, RSA PKCS#1 v1.5, RSA-PSS or Ed25519; SHA-256
 *    or longer, SHA-1 refused);
 * 5. the signer certificate (found by `sid` in the token, or the pinned one)
 *    carries the id-kp-timeStamping extended key usage marked critical
 *    (RFC 3161 §2.3), is valid at `genTime`, and is the one the ESS
 *    signing-certificate attribute names;
 * 6. trust: with `tsaCertPem` the signer must be exactly that certificate;
 *    with `caCertPem` it must chain to one of those certificates (checked at
 *    `genTime`); with neither, the result says `trusted: false`.
 *
 * A token that carries no certificate (GitHub's TSA does that) can be checked
 * with the TSA's bare public key (`tsaPublicKeyPem`); steps 5–6 are then
 * skipped and `trusted` is true only because the caller pinned the key.
 *
 * Not checked: revocation (CRL/OCSP) of the TSA certificate, and the
 * token's `accuracy`/`ordering` fields. SHA-1 is refused as the signer's digest.
 *
 * This module has no sidecar dependencies: `vcp verify` can use it as is
 * (it could move to `src/integrity/`).
 */
import * as nodeCrypto from 'node:crypto';
import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';

/** id-signedData (RFC 5652). */
const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
/** id-ct-TSTInfo (RFC 3161). */
const OID_TST_INFO = '1.2.840.113549.1.9.16.1.4';
const OID_ATTR_CONTENT_TYPE = '1.2.840.113549.1.9.3';
const OID_ATTR_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
/** id-aa-signingCertificate (ESSCertID, SHA-1) and id-aa-signingCertificateV2 (ESSCertIDv2). */
const OID_ATTR_SIGNING_CERT = '1.2.840.113549.1.9.16.2.12';
const OID_ATTR_SIGNING_CERT_V2 = '1.2.840.113549.1.9.16.2.47';
const OID_EXT_KEY_USAGE = '2.5.29.37';
/** id-kp-timeStamping. */
export const OID_KP_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';

/** Digest OIDs → node:crypto names. SHA-1 is known (for ESSCertID) but refused for signatures. */
const DIGESTS: Readonly<Record<string, string>> = {
  '1.3.14.3.2.26': 'sha1',
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
/** SHA-256 OID: the only imprint algorithm a VCP root can have. */
export const OID_SHA256 = '2.16.840.1.101.3.4.2.1';

/** Signature algorithm OIDs → the digest they imply (undefined: use SignerInfo.digestAlgorithm). */
const SIG_ALGS: Readonly<Record<string, { kind: 'ecdsa' | 'rsa' | 'rsa-pss' | 'ed25519'; hash?: string }>> = {
  '1.2.840.10045.2.1': { kind: 'ecdsa' }, // id-ecPublicKey, written by some producers
  '1.2.840.10045.4.3.2': { kind: 'ecdsa', hash: 'sha256' },
  '1.2.840.10045.4.3.3': { kind: 'ecdsa', hash: 'sha384' },
  '1.2.840.10045.4.3.4': { kind: 'ecdsa', hash: 'sha512' },
  '1.2.840.113549.1.1.1': { kind: 'rsa' }, // rsaEncryption
  '1.2.840.113549.1.1.11': { kind: 'rsa', hash: 'sha256' },
  '1.2.840.113549.1.1.12': { kind: 'rsa', hash: 'sha384' },
  '1.2.840.113549.1.1.13': { kind: 'rsa', hash: 'sha512' },
  '1.2.840.113549.1.1.10': { kind: 'rsa-pss' },
  '1.3.101.112': { kind: 'ed25519' },
};

/** PKIStatus values (RFC 3161 §2.4.2). */
const PKI_STATUS_NAMES = [
  'granted',
  'grantedWithMods',
  'rejection',
  'waiting',
  'revocationWarning',
  'revocationNotification',
] as const;

/** PKIFailureInfo bit names (RFC 3161 §2.4.2). */
const FAIL_INFO_BITS: Readonly<Record<number, string>> = {
  0: 'badAlg',
  2: 'badRequest',
  5: 'badDataFormat',
  14: 'timeNotAvailable',
  15: 'unacceptedPolicy',
  16: 'unacceptedExtension',
  17: 'addInfoNotAvailable',
  25: 'systemFailure',
};

/** Largest token or response accepted (real ones are 1–10 KB, with a chain). */
export const MAX_TSA_MESSAGE_BYTES = 1 << 20;

/** A parsed TimeStampResp. */
export interface ParsedTimeStampResp {
  /** 0 granted, 1 grantedWithMods, 2 rejection, 3 waiting, 4/5 revocation. */
  status: number;
  /** Name of `status`, e.g. `granted`. */
  statusName: string;
  /** The TSA's free text, if any. */
  statusText: string[];
  /** Names of the PKIFailureInfo bits set (`badAlg`, `systemFailure`, …). */
  failInfo: string[];
  /** DER of the TimeStampToken (a CMS ContentInfo), when the TSA granted one. */
  token?: Uint8Array;
}

/** Trust settings for {@link verifyTimestampToken}. */
export interface TimestampTrust {
  /** PEM of trusted root/intermediate CA certificates (one or several blocks): the signer must chain to one. */
  caCertPem?: string;
  /** PEM of the TSA's own certificate: the signer must be exactly this certificate (pinning). */
  tsaCertPem?: string;
  /**
   * PEM (SPKI) of the TSA's signing public key, for tokens that carry no
   * certificate. Pins the key: certificate checks (EKU, validity, chain) are skipped.
   */
  tsaPublicKeyPem?: string;
}

/** Options of {@link verifyTimestampToken}. */
export interface VerifyTimestampOptions extends TimestampTrust {
  /** The nonce sent in the request; the token must echo it. */
  nonce?: bigint;
}

/** What a good token says. */
export interface TimestampInfo {
  /** The TSA's time (TSTInfo.genTime). */
  genTime: Date;
  /** TSTInfo.serialNumber, lowercase hex. */
  serialNumber: string;
  /** TSA policy OID. */
  policy: string;
  /** Echoed nonce, if any. */
  nonce?: bigint;
  /** Imprint hash algorithm (always `sha256` for VCP roots). */
  imprintAlgorithm: string;
  /** Imprint bytes, lowercase hex. */
  imprintHex: string;
  /** Digest the signer used over the TSTInfo (`sha256`, `sha384`, …). */
  signerDigest: string;
  /** Subject of the signer certificate, when one was available. */
  signerSubject?: string;
  /** True when the signer is pinned or chains to a configured trust anchor. */
  trusted: boolean;
}

/** Result of {@link verifyTimestampToken}: never throws. */
export type TimestampVerification = ({ ok: true } & TimestampInfo) | { ok: false; reason: string };

class TokenError extends Error {}

function fail(reason: string): never {
  throw new TokenError(reason);
}

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
}

const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/** Strict base64 → bytes, or undefined. */
function decodeBase64(text: string): Uint8Array | undefined {
  const compact = text.replace(/\s+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64_RE.test(compact)) return undefined;
  return new Uint8Array(Buffer.from(compact, 'base64'));
}

/** Parses one DER structure, refusing trailing bytes and oversized input. */
function parseDer(bytes: Uint8Array, what: string): asn1js.AsnType {
  if (bytes.byteLength === 0) fail(`${what} is empty`);
  if (bytes.byteLength > MAX_TSA_MESSAGE_BYTES) fail(`${what} is larger than ${MAX_TSA_MESSAGE_BYTES} bytes`);
  const parsed = asn1js.fromBER(toArrayBuffer(bytes));
  if (parsed.offset === -1) fail(`${what} is not valid DER: ${parsed.result.error || 'parse error'}`);
  if (parsed.offset !== bytes.byteLength)
    fail(`${what} has ${bytes.byteLength - parsed.offset} trailing bytes`);
  return parsed.result;
}

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Buffer.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes)).toString('hex');
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** PEM text → DER blocks of the given label. */
function pemBlocks(pem: string, label: string): Buffer[] {
  const re = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]+?)-----END ${label}-----`, 'g');
  const out: Buffer[] = [];
  for (const m of pem.matchAll(re)) out.push(Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64'));
  return out;
}

/** Parses PEM certificates with pkijs; throws a TokenError naming the option on failure. */
export function _parseCertificates(pem: string, option: string): pkijs.Certificate[] {
  const blocks = pemBlocks(pem, 'CERTIFICATE');
  if (blocks.length === 0) fail(`${option} holds no PEM CERTIFICATE block`);
  return blocks.map((der) => {
    try {
      return pkijs.Certificate.fromBER(toArrayBuffer(der));
    } catch (error) {
      return fail(`${option}: not an X.509 certificate (${message(error)})`);
    }
  });
}

function certDer(cert: pkijs.Certificate): Uint8Array {
  return new Uint8Array(cert.toSchema().toBER(false));
}

function certSubject(cert: pkijs.Certificate): string {
  return cert.subject.typesAndValues
    .map((tv) => {
      const name = ({ '2.5.4.3': 'CN', '2.5.4.10': 'O', '2.5.4.11': 'OU', '2.5.4.6': 'C' } as const)[
        tv.type as '2.5.4.3'
      ];
      return `${name ?? tv.type}=${tv.value.valueBlock.value}`;
    })
    .join(', ');
}

/**
 * Parses a DER TimeStampResp (RFC 3161 §2.4.2). Throws an Error with a plain
 * message when the bytes are not one.
 */
export function parseTimeStampResp(der: Uint8Array): ParsedTimeStampResp {
  let resp: pkijs.TimeStampResp;
  try {
    resp = new pkijs.TimeStampResp({ schema: parseDer(der, 'TimeStampResp') });
  } catch (error) {
    throw new Error(`not an RFC 3161 TimeStampResp: ${message(error)}`);
  }
  const status = resp.status.status;
  const statusText = (resp.status.statusStrings ?? []).map((s) => String(s.valueBlock.value));
  const failInfo: string[] = [];
  const bits = resp.status.failInfo;
  if (bits) {
    const view = bits.valueBlock.valueHexView;
    for (let i = 0; i < view.length * 8; i++) {
      if ((view[i >> 3]! >> (7 - (i & 7))) & 1) failInfo.push(FAIL_INFO_BITS[i] ?? `bit${i}`);
    }
  }
  const out: ParsedTimeStampResp = {
    status,
    statusName: PKI_STATUS_NAMES[status] ?? `status ${status}`,
    statusText,
    failInfo,
  };
  if (resp.timeStampToken) out.token = new Uint8Array(resp.timeStampToken.toSchema().toBER(false));
  return out;
}

/** Decodes a token given as DER bytes or base64 text. */
function tokenBytes(token: unknown): Uint8Array {
  if (token instanceof Uint8Array) return token;
  if (typeof token === 'string') {
    if (token.length > (MAX_TSA_MESSAGE_BYTES * 4) / 3 + 4) fail('token is too large');
    return decodeBase64(token) ?? fail('token is not valid base64');
  }
  return fail('token must be base64 text or bytes');
}

function findAttribute(info: pkijs.SignerInfo, oid: string): pkijs.Attribute | undefined {
  const attrs = info.signedAttrs?.attributes ?? [];
  const found = attrs.filter((a) => a.type === oid);
  if (found.length > 1) fail(`signed attribute ${oid} appears ${found.length} times`);
  return found[0];
}

/** Finds the certificate named by the SignerInfo's `sid`. */
async function findSigner(
  info: pkijs.SignerInfo,
  certs: pkijs.Certificate[],
): Promise<pkijs.Certificate | undefined> {
  const sid = info.sid as unknown;
  if (sid instanceof pkijs.IssuerAndSerialNumber) {
    return certs.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber));
  }
  // SubjectKeyIdentifier: [0] IMPLICIT OCTET STRING; compare with SHA-1 of the key (RFC 5280 method 1)
  // and with the certificate's own subjectKeyIdentifier extension.
  const block = sid as asn1js.Primitive | asn1js.Constructed;
  const keyId =
    block instanceof asn1js.Constructed
      ? hex((block.valueBlock.value[0] as asn1js.OctetString).valueBlock.valueHexView)
      : hex((block as asn1js.Primitive).valueBlock.valueHexView);
  for (const cert of certs) {
    const ski = cert.extensions?.find((e) => e.extnID === '2.5.29.14')?.parsedValue as
      | asn1js.OctetString
      | undefined;
    if (ski && hex(ski.valueBlock.valueHexView) === keyId) return cert;
    const spki = cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView;
    if (nodeCrypto.createHash('sha1').update(spki).digest('hex') === keyId) return cert;
  }
  return undefined;
}

/** Checks the ESS signing-certificate attribute (v1 or v2) against the signer certificate. */
function checkSigningCertAttr(info: pkijs.SignerInfo, cert: pkijs.Certificate): void {
  const v2 = findAttribute(info, OID_ATTR_SIGNING_CERT_V2);
  const v1 = findAttribute(info, OID_ATTR_SIGNING_CERT);
  const attr = v2 ?? v1;
  if (!attr) fail('the token has no ESS signing-certificate attribute (RFC 3161 §2.4.2 requires it)');
  const der = certDer(cert);
  try {
    const signingCert = attr.values[0] as asn1js.Sequence;
    const certIds = signingCert.valueBlock.value[0] as asn1js.Sequence;
    const first = certIds.valueBlock.value[0] as asn1js.Sequence;
    let algorithm = 'sha1';
    let hashBlock = first.valueBlock.value[0] as asn1js.AsnType;
    if (attr === v2) {
      algorithm = 'sha256'; // ESSCertIDv2 default (RFC 5035)
      if (hashBlock instanceof asn1js.Sequence) {
        const oid = (hashBlock.valueBlock.value[0] as asn1js.ObjectIdentifier).valueBlock.toString();
        algorithm = DIGESTS[oid] ?? fail(`ESSCertIDv2 uses an unknown hash algorithm ${oid}`);
        hashBlock = first.valueBlock.value[1] as asn1js.AsnType;
      }
    }
    if (!(hashBlock instanceof asn1js.OctetString)) fail('malformed ESS signing-certificate attribute');
    const expected = nodeCrypto.createHash(algorithm).update(der).digest('hex');
    if (hex(hashBlock.valueBlock.valueHexView) !== expected) {
      fail('the ESS signing-certificate attribute names another certificate than the signer');
    }
  } catch (error) {
    if (error instanceof TokenError) throw error;
    fail(`malformed ESS signing-certificate attribute (${message(error)})`);
  }
}

/** EKU timeStamping, critical (RFC 3161 §2.3), and validity at genTime. */
function checkTsaCertificate(cert: pkijs.Certificate, genTime: Date): void {
  const eku = cert.extensions?.find((e) => e.extnID === OID_EXT_KEY_USAGE);
  const purposes = (eku?.parsedValue as pkijs.ExtKeyUsage | undefined)?.keyPurposes ?? [];
  if (!eku || !purposes.includes(OID_KP_TIME_STAMPING)) {
    fail('the TSA certificate lacks the id-kp-timeStamping extended key usage');
  }
  if (!eku.critical) fail("the TSA certificate's extended key usage is not marked critical (RFC 3161 §2.3)");
  if (genTime < cert.notBefore.value || genTime > cert.notAfter.value) {
    fail(
      `the TSA certificate was not valid at genTime ${genTime.toISOString()} ` +
        `(valid ${cert.notBefore.value.toISOString()} … ${cert.notAfter.value.toISOString()})`,
    );
  }
}

async function checkChain(
  signer: pkijs.Certificate,
  tokenCerts: pkijs.Certificate[],
  trusted: pkijs.Certificate[],
  at: Date,
): Promise<void> {
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: trusted,
    certs: [...tokenCerts.filter((c) => c !== signer), signer],
    checkDate: at,
  });
  let result: pkijs.CertificateChainValidationEngineVerifyResult;
  try {
    result = await engine.verify();
  } catch (error) {
    const m = error && typeof error === 'object' && 'resultMessage' in error ? error.resultMessage : error;
    return fail(`the TSA certificate does not chain to a trusted CA: ${message(m)}`);
  }
  if (!result.result) fail(`the TSA certificate does not chain to a trusted CA: ${result.resultMessage}`);
}

/** Verifies a CMS signature over `data` with node:crypto. */
function verifyCmsSignature(
  info: pkijs.SignerInfo,
  digest: string,
  data: Uint8Array,
  key: nodeCrypto.KeyObject,
): boolean {
  const oid = info.signatureAlgorithm.algorithmId;
  const alg = SIG_ALGS[oid] ?? fail(`unsupported signature algorithm ${oid}`);
  const sig = info.signature.valueBlock.valueHexView;
  switch (alg.kind) {
    case 'ed25519':
      return nodeCrypto.verify(null, data, key, sig);
    case 'ecdsa':
      return nodeCrypto.verify(alg.hash ?? digest, data, { key, dsaEncoding: 'der' }, sig);
    case 'rsa':
      return nodeCrypto.verify(
        alg.hash ?? digest,
        data,
        { key, padding: nodeCrypto.constants.RSA_PKCS1_PADDING },
        sig,
      );
    case 'rsa-pss': {
      const params = new pkijs.RSASSAPSSParams({ schema: info.signatureAlgorithm.algorithmParams });
      const hash = DIGESTS[params.hashAlgorithm.algorithmId] ?? fail('RSA-PSS with an unknown hash');
      if (hash === 'sha1') fail('RSA-PSS with SHA-1 is refused');
      return nodeCrypto.verify(
        hash,
        data,
        { key, padding: nodeCrypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: params.saltLength },
        sig,
      );
    }
  }
}

/**
 * Checks a TimeStampToken against a Merkle root (or any SHA-256 digest),
 * offline. `token` is the base64 (or DER) of the CMS ContentInfo; `rootHex`
 * the 64 hex characters that must be the token's SHA-256 imprint. Never
 * throws: any problem, including hostile input, gives `{ ok: false, reason }`.
 */
export async function verifyTimestampToken(
  token: unknown,
  rootHex: unknown,
  options: VerifyTimestampOptions = {},
): Promise<TimestampVerification> {
  try {
    return { ok: true, ...(await checkToken(token, rootHex, options)) };
  } catch (error) {
    return {
      ok: false,
      reason: error instanceof TokenError ? error.message : `malformed token: ${message(error)}`,
    };
  }
}

async function checkToken(
  token: unknown,
  rootHex: unknown,
  options: VerifyTimestampOptions,
): Promise<TimestampInfo> {
  if (typeof rootHex !== 'string' || !/^[0-9a-fA-F]{64}$/.test(rootHex))
    fail('root must be 64 hex characters');
  const root = rootHex.toLowerCase();

  const contentInfo = new pkijs.ContentInfo({ schema: parseDer(tokenBytes(token), 'TimeStampToken') });
  if (contentInfo.contentType !== OID_SIGNED_DATA) {
    fail(`the token is a ${contentInfo.contentType} ContentInfo, not signedData`);
  }
  const signed = new pkijs.SignedData({ schema: contentInfo.content });
  const encap = signed.encapContentInfo;
  if (encap.eContentType !== OID_TST_INFO) fail(`the token signs ${encap.eContentType}, not a TSTInfo`);
  if (!encap.eContent) fail('the token has no TSTInfo content');
  const tstDer = new Uint8Array(encap.eContent.getValue());
  const tst = new pkijs.TSTInfo({ schema: parseDer(tstDer, 'TSTInfo') });
  if (tst.version !== 1) fail(`TSTInfo version ${tst.version} (expected 1)`);

  // The imprint: (sha256, the root's 32 raw bytes).
  const imprintOid = tst.messageImprint.hashAlgorithm.algorithmId;
  const imprintAlgorithm = DIGESTS[imprintOid] ?? imprintOid;
  const imprintHex = hex(tst.messageImprint.hashedMessage.valueBlock.valueHexView);
  if (imprintOid !== OID_SHA256) fail(`the imprint uses ${imprintAlgorithm}, not sha256`);
  if (imprintHex !== root) fail(`the token's imprint ${imprintHex} is not the root ${root}`);

  let nonce: bigint | undefined;
  if (tst.nonce) nonce = tst.nonce.toBigInt();
  if (options.nonce !== undefined && nonce !== options.nonce)
    fail('the token does not echo the request nonce');

  const genTime = tst.genTime;
  if (!(genTime instanceof Date) || Number.isNaN(genTime.getTime())) fail('the token has no valid genTime');

  // Signer: exactly one, with signed attributes.
  if (signed.signerInfos.length !== 1)
    fail(`the token has ${signed.signerInfos.length} signers (expected 1)`);
  const info = signed.signerInfos[0]!;
  if (!info.signedAttrs || info.signedAttrs.attributes.length === 0)
    fail('the token has no signed attributes');
  const signerDigest = DIGESTS[info.digestAlgorithm.algorithmId] ?? fail('unknown signer digest algorithm');
  if (signerDigest === 'sha1') fail('the token is signed with SHA-1, which is refused');

  const contentType = findAttribute(info, OID_ATTR_CONTENT_TYPE);
  const ctValue = contentType?.values[0];
  if (!(ctValue instanceof asn1js.ObjectIdentifier) || ctValue.valueBlock.toString() !== OID_TST_INFO) {
    fail('the content-type attribute is missing or is not id-ct-TSTInfo');
  }
  const md = findAttribute(info, OID_ATTR_MESSAGE_DIGEST)?.values[0];
  if (!(md instanceof asn1js.OctetString)) fail('the message-digest attribute is missing');
  if (hex(md.valueBlock.valueHexView) !== nodeCrypto.createHash(signerDigest).update(tstDer).digest('hex')) {
    fail('the message-digest attribute does not match the TSTInfo (the token was altered)');
  }

  // Who signed: a certificate in the token (or the pinned one), or a pinned bare key.
  const tokenCerts = (signed.certificates ?? []).filter(
    (c): c is pkijs.Certificate => c instanceof pkijs.Certificate,
  );
  const pinned = options.tsaCertPem ? _parseCertificates(options.tsaCertPem, 'tsaCertPem') : [];
  let signer = await findSigner(info, tokenCerts);
  if (!signer && pinned.length > 0) signer = await findSigner(info, pinned);
  let key: nodeCrypto.KeyObject;
  let trusted = false;
  if (signer) {
    key = nodeCrypto.createPublicKey({
      key: Buffer.from(signer.subjectPublicKeyInfo.toSchema().toBER(false)),
      format: 'der',
      type: 'spki',
    });
  } else if (options.tsaPublicKeyPem) {
    try {
      key = nodeCrypto.createPublicKey(options.tsaPublicKeyPem);
    } catch (error) {
      return fail(`tsaPublicKeyPem: not a public key (${message(error)})`);
    }
    trusted = true;
  } else {
    return fail('the token carries no signer certificate; configure the TSA certificate (tsaCertPem)');
  }

  let good: boolean;
  try {
    good = verifyCmsSignature(info, signerDigest, new Uint8Array(info.signedAttrs.encodedValue), key);
  } catch (error) {
    if (error instanceof TokenError) throw error;
    return fail(`the signature could not be checked: ${message(error)}`);
  }
  if (!good) fail('the TSA signature does not verify');

  if (signer) {
    checkTsaCertificate(signer, genTime);
    checkSigningCertAttr(info, signer);
    if (pinned.length > 0) {
      const der = Buffer.from(certDer(signer));
      if (!pinned.some((p) => der.equals(Buffer.from(certDer(p))))) {
        fail('the token is signed by another certificate than the pinned TSA certificate');
      }
      trusted = true;
    }
    if (options.tsaPublicKeyPem) {
      let pinnedKey: Buffer;
      try {
        pinnedKey = nodeCrypto
          .createPublicKey(options.tsaPublicKeyPem)
          .export({ format: 'der', type: 'spki' });
      } catch (error) {
        return fail(`tsaPublicKeyPem: not a public key (${message(error)})`);
      }
      if (!pinnedKey.equals(key.export({ format: 'der', type: 'spki' }))) {
        fail('the token is signed by another key than the pinned TSA public key');
      }
      trusted = true;
    }
    if (options.caCertPem) {
      await checkChain(signer, tokenCerts, _parseCertificates(options.caCertPem, 'caCertPem'), genTime);
      trusted = true;
    }
  }

  const out: TimestampInfo = {
    genTime,
    // Unsigned value: drop the sign byte DER adds before a high bit.
    serialNumber: hex(tst.serialNumber.valueBlock.valueHexView).replace(/^00(?=[89a-f])/, ''),
    policy: tst.policy,
    imprintAlgorithm,
    imprintHex,
    signerDigest,
    trusted,
  };
  if (nonce !== undefined) out.nonce = nonce;
  if (signer) out.signerSubject = certSubject(signer);
  return out;
}
