//! P2 modules forged from real bytes at the published layouts' places: no RTL872x Device
//! OS binary is published on npm. Shared by tests/rtl872x.rs and examples/bench_flash.rs
//! (which includes this file by path), so it uses nothing else from tests/common.

/// One row of Particle's published P2 6.4.1 restore image (tests/data): function, index,
/// module version, start, end, first dependency.
pub struct Row {
    pub function: u8,
    pub index: u8,
    pub version: u16,
    pub start: u32,
    pub end: u32,
    pub dep: (u8, u8, u16),
}

/// The P2 6.4.1 restore image's modules other than Tinker, as published.
pub const P2_6_4_1: [Row; 3] = [
    Row {
        function: 2,
        index: 0,
        version: 3301,
        start: 0x0800_4000,
        end: 0x0801_3240,
        dep: (2, 2, 13),
    },
    Row {
        function: 2,
        index: 2,
        version: 13,
        start: 0x0801_4000,
        end: 0x0802_77B8,
        dep: (0, 0, 0),
    },
    Row {
        function: 4,
        index: 1,
        version: 6401,
        start: 0x0806_0000,
        end: 0x0819_3008,
        dep: (2, 0, 3301),
    },
];

/// The P2 6.3.4 restore image's modules other than Tinker, as published.
pub const P2_6_3_4: [Row; 3] = [
    Row {
        function: 2,
        index: 0,
        version: 3200,
        start: 0x0800_4000,
        end: 0x0801_3130,
        dep: (2, 2, 11),
    },
    Row {
        function: 2,
        index: 2,
        version: 11,
        start: 0x0801_4000,
        end: 0x0802_77B8,
        dep: (0, 0, 0),
    },
    Row {
        function: 4,
        index: 1,
        version: 6305,
        start: 0x0806_0000,
        end: 0x0818_EE08,
        dep: (2, 0, 3200),
    },
];

/// A module of `row`'s place and identity, from real bytes: no RTL872x Device OS binary
/// is published on npm, so its body is the Boron system part's, repeated, and its suffix
/// the real P2 Tinker's; then moved and re-sealed by hexsmith.
pub fn forge(row: &Row, body: &[u8], tinker: &[u8]) -> Vec<u8> {
    let suffix = &tinker[tinker.len() - 66..];
    let len = (row.end - row.start + 4) as usize;
    let mut b: Vec<u8> = body
        .iter()
        .copied()
        .cycle()
        .take(len - suffix.len())
        .collect();
    b.extend_from_slice(suffix);
    b[0..4].copy_from_slice(&row.start.to_le_bytes());
    b[4..8].copy_from_slice(&row.end.to_le_bytes());
    b[8] = 0;
    b[9] = 0;
    b[10..12].copy_from_slice(&row.version.to_le_bytes());
    b[12..14].copy_from_slice(&32u16.to_le_bytes());
    b[14] = row.function;
    b[15] = row.index;
    b[16] = row.dep.0;
    b[17] = row.dep.1;
    b[18..20].copy_from_slice(&row.dep.2.to_le_bytes());
    b[20..24].fill(0);
    hexsmith::module::seal(&mut b).expect("a forged module seals");
    b
}
