//! Intel HEX: read with the `ihex` crate, one line at a time so that every error can
//! name its line; written as 16-byte data records with type-04 address records.

use super::{Chunk, MemoryError, MemoryImage, Origin};
use ihex::Record;

/// Why Intel HEX text gives no image. Every variant that can names the 1-based line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// A line is not a valid record: missing ':', a non-hex digit, a length byte that
    /// disagrees with the record, a wrong checksum, a record type outside 00 to 05.
    #[error("line {line}: {reason}")]
    Record {
        /// 1-based line number.
        line: usize,
        /// The fault, naming the field, e.g. the checksum found and the one needed.
        reason: String,
    },
    /// No type-01 record: the file was cut short, e.g. by an interrupted copy.
    #[error("no end-of-file record: the file is truncated")]
    MissingEof,
    /// A record follows the end-of-file record (blank lines may): two files joined, or
    /// junk appended.
    #[error("line {line}: data after the end-of-file record")]
    AfterEof {
        /// 1-based line number of the first record after the end.
        line: usize,
    },
    /// More than [`MAX_PIECES`] separate runs of data: a crafted or non-device file.
    #[error(
        "line {line}: more than {MAX_PIECES} separate runs of data, far more than any flash image holds: not a device image"
    )]
    TooManyPieces {
        /// 1-based line number at which the limit was passed.
        line: usize,
    },
    /// A byte is not ASCII: a binary file, such as a `.bin` module, given as hex.
    #[error("not text: byte {offset} is not ASCII")]
    NotText {
        /// 0-based offset of the first non-ASCII byte.
        offset: usize,
    },
    /// Two records claim the same address, or data runs past 4 GiB.
    #[error(transparent)]
    Memory(#[from] MemoryError),
}

/// What an Intel HEX file holds besides its data.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HexExtras {
    /// From a type-05 (or type-03, as CS:IP) record.
    pub entry_point: Option<u32>,
}

/// Parses Intel HEX text: upper or lower case, LF or CRLF, record types 00 to 05, in any
/// order (records are placed by address, not by position). A type-02 segment base wraps
/// offsets within 64 KiB as the format says.
pub fn parse(bytes: &[u8]) -> Result<(MemoryImage, HexExtras), HexError> {
    if let Some(offset) = bytes.iter().position(|b| !b.is_ascii()) {
        return Err(HexError::NotText { offset });
    }
    let text = std::str::from_utf8(bytes).expect("ASCII is UTF-8");
    let mut chunks = Vec::new();
    let mut extras = HexExtras::default();
    let mut base: u64 = 0;
    let mut mode = Addressing::Linear;
    let mut eof_line = None;
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let record_text = raw
            .strip_suffix('\r')
            .unwrap_or(raw)
            .trim_end_matches([' ', '\t']);
        if record_text.is_empty() {
            continue;
        }
        if eof_line.is_some() {
            return Err(HexError::AfterEof { line });
        }
        let record =
            read_record(record_text).map_err(|reason| HexError::Record { line, reason })?;
        if chunks.len() > MAX_PIECES {
            return Err(HexError::TooManyPieces { line });
        }
        match record {
            Record::Data { offset, value } => match mode {
                // Intel HEX: with a segment base, the offset wraps within 64 KiB.
                Addressing::Segment if usize::from(offset) + value.len() > 0x1_0000 => {
                    let (low, high) = value.split_at(0x1_0000 - usize::from(offset));
                    push(&mut chunks, base + u64::from(offset), low, line);
                    push(&mut chunks, base, high, line);
                }
                _ => push(&mut chunks, base + u64::from(offset), &value, line),
            },
            Record::EndOfFile => eof_line = Some(line),
            Record::ExtendedSegmentAddress(segment) => {
                base = u64::from(segment) << 4;
                mode = Addressing::Segment;
            }
            Record::ExtendedLinearAddress(upper) => {
                base = u64::from(upper) << 16;
                mode = Addressing::Linear;
            }
            Record::StartSegmentAddress { cs, ip } => {
                extras.entry_point = Some((u32::from(cs) << 4).wrapping_add(u32::from(ip)))
            }
            Record::StartLinearAddress(address) => extras.entry_point = Some(address),
        }
    }
    if eof_line.is_none() {
        return Err(HexError::MissingEof);
    }
    Ok((MemoryImage::from_chunks(chunks)?, extras))
}

/// Particle images hold a few dozen runs of data, a device read-back at most one per
/// erase unit; a limit keeps the memory a crafted file of 1-byte records costs (an
/// allocation and a report entry for each) bounded.
pub const MAX_PIECES: usize = 65_536;

#[derive(Clone, Copy)]
enum Addressing {
    Linear,
    Segment,
}

/// Appends a record's data, extending the previous piece when it continues it: a file of
/// 1-byte records costs memory for its bytes, not an allocation per record.
fn push(chunks: &mut Vec<Chunk>, start: u64, data: &[u8], line: usize) {
    if let Some(last) = chunks.last_mut()
        && last.start + last.data.len() as u64 == start
        && !data.is_empty()
    {
        last.data.extend_from_slice(data);
        last.origin = match last.origin {
            Origin::Line(first) | Origin::Lines(first, _) => Origin::Lines(first, line),
            ref other => other.clone(),
        };
        return;
    }
    chunks.push(Chunk {
        start,
        data: data.to_vec(),
        origin: Origin::Line(line),
    });
}

/// One record, by the `ihex` crate, with the faults named by field: the length byte
/// checked against the record's size first (`ihex` would call it a checksum error), and
/// a checksum error saying what the file holds and what the bytes need.
fn read_record(text: &str) -> Result<Record, String> {
    use ihex::ReaderError;
    let digits = text.strip_prefix(':').unwrap_or(text);
    let is_hex = digits.bytes().all(|b| b.is_ascii_hexdigit());
    if text.starts_with(':') && is_hex && digits.len() >= 10 && digits.len().is_multiple_of(2) {
        let declared = usize::from_str_radix(&digits[..2], 16).expect("hex digits");
        let held = digits.len() / 2 - 5;
        if declared != held {
            return Err(format!(
                "length byte says {declared} data bytes, the record holds {held}: the record is cut short or the length byte is wrong"
            ));
        }
    }
    Record::from_record_string(text).map_err(|e| match e {
        ReaderError::ChecksumMismatch(needed, found) => format!(
            "checksum byte is {found:02X}, the record's bytes need {needed:02X}: the record is corrupt"
        ),
        ReaderError::MissingStartCode => "a record must start with ':'".to_string(),
        ReaderError::ContainsInvalidCharacters => {
            "a record holds only hex digits after its ':'".to_string()
        }
        ReaderError::RecordTooShort => {
            "too short for a record (length, address, type and checksum)".to_string()
        }
        ReaderError::RecordNotEvenLength => {
            "an odd number of hex digits: not a whole number of bytes".to_string()
        }
        ReaderError::UnsupportedRecordType(t) => {
            format!("record type {t:02X} is none of Intel HEX's 00 to 05")
        }
        ReaderError::InvalidLengthForType => {
            "the length byte is wrong for the record's type".to_string()
        }
        other => other.to_string(),
    })
}

const RECORD_LEN: u64 = 16;

/// Writes the image as Intel HEX: upper case, LF line ends, data records of 16 bytes
/// aligned to 16-byte addresses, a type-04 record whenever the upper 16 address bits
/// change, and an end-of-file record. The same image always gives the same text.
///
/// Records are formatted here rather than by `ihex`, whose writer formats every byte
/// through `core::fmt` and took two thirds of a whole restore-image build.
pub fn write(image: &MemoryImage) -> String {
    let mut out = Vec::with_capacity((image.len() as usize / 16 + 8) * 44);
    write_to(image, &mut out).expect("writing to a Vec cannot fail");
    String::from_utf8(out).expect("hex digits are ASCII")
}

/// [`write()`], streamed: a whole image never sits in memory as text.
pub fn write_to(image: &MemoryImage, sink: &mut impl std::io::Write) -> std::io::Result<()> {
    const FLUSH_AT: usize = 64 * 1024;
    let mut out = Vec::with_capacity(FLUSH_AT + 64);
    let mut upper: Option<u16> = None;
    for seg in image.segments() {
        let mut addr = u64::from(seg.start);
        let mut rest = &seg.data[..];
        while !rest.is_empty() {
            let hi = (addr >> 16) as u16;
            if upper != Some(hi) {
                push_record(&mut out, 0x04, 0, &hi.to_be_bytes());
                upper = Some(hi);
            }
            let n = (RECORD_LEN - addr % RECORD_LEN).min(rest.len() as u64) as usize;
            push_record(&mut out, 0x00, addr as u16, &rest[..n]);
            rest = &rest[n..];
            addr += n as u64;
            if out.len() >= FLUSH_AT {
                sink.write_all(&out)?;
                out.clear();
            }
        }
    }
    push_record(&mut out, 0x01, 0, &[]);
    sink.write_all(&out)
}

/// Upper-case hex digits of every byte value.
const HEX_PAIRS: [[u8; 2]; 256] = {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    let mut table = [[0u8; 2]; 256];
    let mut i = 0;
    while i < 256 {
        table[i] = [DIGITS[i >> 4], DIGITS[i & 0xF]];
        i += 1;
    }
    table
};

/// Formats one record in a stack buffer and appends it: ':', length, address, type,
/// data, checksum, LF. Records here hold at most 16 data bytes.
fn push_record(out: &mut Vec<u8>, kind: u8, offset: u16, data: &[u8]) {
    debug_assert!(data.len() <= RECORD_LEN as usize);
    let mut line = [0u8; 1 + 2 * (4 + RECORD_LEN as usize + 1) + 1];
    let [hi, lo] = offset.to_be_bytes();
    let head = [data.len() as u8, hi, lo, kind];
    let mut sum = 0u8;
    line[0] = b':';
    let mut at = 1;
    for b in head.iter().chain(data) {
        sum = sum.wrapping_add(*b);
        line[at..at + 2].copy_from_slice(&HEX_PAIRS[usize::from(*b)]);
        at += 2;
    }
    line[at..at + 2].copy_from_slice(&HEX_PAIRS[usize::from(sum.wrapping_neg())]);
    line[at + 2] = b'\n';
    out.extend_from_slice(&line[..at + 3]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_lower_case_and_crlf() {
        let text = ":020000040001f9\r\n:0400100001020304e2\r\n:00000001ff\r\n";
        let (img, _) = parse(text.as_bytes()).unwrap();
        assert_eq!(img.segments()[0].start, 0x0001_0010);
        assert_eq!(img.segments()[0].data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn errors_name_the_line() {
        let bad_checksum = ":0400100001020304E3\n:00000001FF\n";
        let err = parse(bad_checksum.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 1: checksum byte is E3, the record's bytes need E2: the record is corrupt"
        );
        let long_length = ":0500100001020304E1\n:00000001FF\n";
        let err = parse(long_length.as_bytes()).unwrap_err().to_string();
        assert!(
            err.starts_with("line 1: length byte says 5 data bytes, the record holds 4"),
            "{err}"
        );
        let garbage = ":00000001FF\nhello\n";
        assert_eq!(
            parse(garbage.as_bytes()).unwrap_err(),
            HexError::AfterEof { line: 2 }
        );
        let garbage = "hello\n:00000001FF\n";
        assert!(
            parse(garbage.as_bytes())
                .unwrap_err()
                .to_string()
                .starts_with("line 1:")
        );
        assert_eq!(
            parse(b":0400100001020304E2\n").unwrap_err(),
            HexError::MissingEof
        );
    }

    #[test]
    fn overlap_inside_one_file_names_both_lines() {
        let text = ":0400100001020304E2\n:020012000506E1\n:00000001FF\n";
        let err = parse(text.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            err,
            "line 2 overlaps data from line 1 at address 0x00000012"
        );
    }

    /// Intel HEX: with a type-02 segment base, an offset past 0xFFFF wraps to 0 within
    /// the segment; with a type-04 linear base, addresses run on.
    #[test]
    fn segment_records_wrap_at_64_kib() {
        let record = |kind: u8, offset: u16, data: &[u8]| {
            let mut out = Vec::new();
            push_record(&mut out, kind, offset, data);
            String::from_utf8(out).unwrap()
        };
        let data: Vec<u8> = (1..=16).collect();
        let text =
            record(0x02, 0, &[0x10, 0x00]) + &record(0x00, 0xFFF8, &data) + &record(0x01, 0, &[]);
        let (img, _) = parse(text.as_bytes()).unwrap();
        assert_eq!(img.read(0x1_FFF8, 8), Some(&data[..8]));
        assert_eq!(img.read(0x1_0000, 8), Some(&data[8..]));
        assert_eq!(img.read(0x2_0000, 1), None);

        let text =
            record(0x04, 0, &[0x00, 0x01]) + &record(0x00, 0xFFF8, &data) + &record(0x01, 0, &[]);
        let (img, _) = parse(text.as_bytes()).unwrap();
        assert_eq!(img.read(0x1_FFF8, 16), Some(&data[..]));
    }

    #[test]
    fn a_file_of_scattered_bytes_is_refused_early() {
        let mut text = String::new();
        for i in 0..=MAX_PIECES as u32 + 1 {
            let address = i * 2;
            if address % 0x1_0000 == 0 {
                let mut out = Vec::new();
                push_record(&mut out, 0x04, 0, &((address >> 16) as u16).to_be_bytes());
                text += std::str::from_utf8(&out).unwrap();
            }
            let mut out = Vec::new();
            push_record(&mut out, 0x00, address as u16, &[0x55]);
            text += std::str::from_utf8(&out).unwrap();
        }
        text += ":00000001FF\n";
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(matches!(err, HexError::TooManyPieces { .. }), "{err}");
    }

    #[test]
    fn past_four_gib_is_refused() {
        let text = ":02000004FFFFFC\n:10FFF800000102030405060708090A0B0C0D0E0F81\n:00000001FF\n";
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, HexError::Memory(MemoryError::PastAddressSpace { .. })),
            "{err}"
        );
    }

    /// The hand-written writer must agree with the `ihex` crate's record formatting.
    #[test]
    fn records_match_the_ihex_crate() {
        let mut img = MemoryImage::new();
        let data: Vec<u8> = (0..=255).collect();
        img.write(0x0001_FFF3, &data);
        img.write(0x1000_1000, &[0xFF; 7]);
        let mut expected = String::new();
        let mut upper = None;
        for seg in img.segments() {
            let mut addr = u64::from(seg.start);
            let mut rest = &seg.data[..];
            while !rest.is_empty() {
                let hi = (addr >> 16) as u16;
                if upper != Some(hi) {
                    expected += &Record::ExtendedLinearAddress(hi)
                        .to_record_string()
                        .unwrap();
                    expected.push('\n');
                    upper = Some(hi);
                }
                let n = (16 - addr % 16).min(rest.len() as u64) as usize;
                let record = Record::Data {
                    offset: addr as u16,
                    value: rest[..n].to_vec(),
                };
                expected += &record.to_record_string().unwrap();
                expected.push('\n');
                rest = &rest[n..];
                addr += n as u64;
            }
        }
        expected += &Record::EndOfFile.to_record_string().unwrap();
        expected.push('\n');
        assert_eq!(write(&img), expected);
    }

    #[test]
    fn writes_aligned_records_with_address_records() {
        let mut img = MemoryImage::new();
        img.write(0x0000_FFF8, &[0xAB; 20]);
        let text = write(&img);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                ":020000040000FA",
                ":08FFF800ABABABABABABABABA9",
                ":020000040001F9",
                ":0C000000ABABABABABABABABABABABABF0",
                ":00000001FF",
            ]
        );
        assert_eq!(parse(text.as_bytes()).unwrap().0, img);
    }
}
