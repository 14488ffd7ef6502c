#!/usr/bin/env node
// Why this exists: an independent second opinion on Device OS module headers.
// It reads each file with Particle's own JavaScript parser (binary-version-reader,
// installed into the cache by scripts/fetch-device-os) and prints the fields as
// JSON, so hexsmith's Rust parser can be cross-checked against it. The reader's
// answers are reported as-is, never corrected; only the SHA-256 check is ours.
//
// Usage: node scripts/independent-reader.js FILE...   (env HEXSMITH_CACHE, default <repo>/.cache)
// Output: one JSON array on stdout, one object per file (or {file, error}).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const cache = path.resolve(process.env.HEXSMITH_CACHE || path.join(__dirname, '..', '.cache'));
const bvrDir = path.join(cache, 'bvr', 'node_modules', 'binary-version-reader');
if (!fs.existsSync(bvrDir)) {
  console.error(`binary-version-reader not found in ${bvrDir}; run scripts/fetch-device-os first`);
  process.exit(2);
}
const { HalModuleParser } = require(bvrDir);

const SHA_LEN = 32;
const DROP_MODULE_INFO = 0x01;
const PREFIX_SIZE = 24;

// The SHA-256 stored in the suffix is the 32 bytes just before the u16 suffix
// size and the 4-byte CRC. It covers everything before it, except for modules
// flagged "drop module info" (radio stack): there it covers only the bytes
// between the 24-byte prefix (at offset 0) and the suffix.
function sha256Ok(buf, flags, suffixSize) {
  const shaEnd = buf.length - 6;
  const shaStart = shaEnd - SHA_LEN;
  if (shaStart < 0) return false;
  const [from, to] = (flags & DROP_MODULE_INFO)
    ? [PREFIX_SIZE, buf.length - 4 - suffixSize]
    : [0, shaStart];
  if (from > to || to > buf.length) return false;
  const actual = crypto.createHash('sha256').update(buf.subarray(from, to)).digest();
  return actual.equals(buf.subarray(shaStart, shaEnd));
}

// Numbers, or null when the reader leaves a field out (-1 means "absent" for product fields).
const num = (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : null);
const hex = (v) => (typeof v === 'string' && v !== '' ? parseInt(v, 16) : num(v));

async function describe(file) {
  try {
    const info = await new HalModuleParser().parseFile(file);
    const p = info.prefixInfo;
    const s = info.suffixInfo;
    const deps = [
      { function: p.depModuleFunction, index: p.depModuleIndex, version: p.depModuleVersion },
      { function: p.dep2ModuleFunction, index: p.dep2ModuleIndex, version: p.dep2ModuleVersion },
    ].filter((d) => d.function !== 0);
    return {
      file,
      start_address: hex(p.moduleStartAddy),
      end_address: hex(p.moduleEndAddy),
      flags: num(p.moduleFlags),
      module_version: num(p.moduleVersion),
      platform_id: num(p.platformID),
      function: num(p.moduleFunction),
      index: num(p.moduleIndex),
      dependencies: deps,
      product_id: num(s.productId),
      product_version: num(s.productVersion),
      suffix_size: num(s.suffixSize),
      crc_ok: Boolean(info.crc && info.crc.ok),
      sha256_ok: sha256Ok(info.fileBuffer, p.moduleFlags, s.suffixSize),
    };
  } catch (err) {
    return { file, error: String((err && err.message) || err) };
  }
}

(async () => {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node scripts/independent-reader.js FILE...');
    process.exit(2);
  }
  const results = [];
  for (const f of files) results.push(await describe(f));
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
})();
