//! Re-sealing: after a module's bytes are edited (a patched application, a changed
//! product version), its SHA-256 and CRC must be recomputed or the device rejects it.

use super::{CRC_LEN, MODULE_CRC, Module, ModuleError, SHA_LEN};

/// The bytes do not parse as a module, so there is no suffix to re-seal. Sealing fixes
/// only the hash and the CRC: a prefix or length that is wrong must be fixed first.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot re-seal: {0}")]
// Not `non_exhaustive`: it is the module error and nothing else; a second cause would be
// a new type.
pub struct SealError(#[from] pub ModuleError);

/// Recomputes the suffix SHA-256 and the CRC of a whole module file, in place, and
/// returns the module as parsed afterwards (both checks then pass). Nothing else changes:
/// the suffix size and its room for the hash must already be right.
pub fn seal(bytes: &mut [u8]) -> Result<Module, SealError> {
    let module = Module::parse(bytes)?;
    let len = bytes.len();
    let sha_at = len - CRC_LEN - 2 - SHA_LEN;
    bytes[sha_at..sha_at + SHA_LEN].copy_from_slice(&module.sha256_computed);
    let crc = MODULE_CRC.checksum(&bytes[..len - CRC_LEN]);
    bytes[len - CRC_LEN..].copy_from_slice(&crc.to_be_bytes());
    Ok(Module::parse(bytes)?)
}
