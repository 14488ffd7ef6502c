//! The seed rules a plan follows that are logic rather than a list of releases, each with
//! the name plans and tests know it by and where in the seeds it comes from. (Intermediate
//! releases are data: the `[[stop]]` rules of `releases.toml`.)

/// One rule of the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub id: &'static str,
    pub why: &'static str,
    pub seed: &'static str,
}

pub const TARGET: Rule = Rule {
    id: "target",
    why: "the release asked for",
    seed: "",
};

pub const USER_FIRMWARE_FIRST: Rule = Rule {
    id: "user-firmware-first-when-downgrading",
    why: "an application built for a newer Device OS would send the device into safe mode, and the safe mode healer would upgrade it again: write one built for the target release or earlier (or Tinker) before any Device OS",
    seed: "Versions and upgrades: USB Downgrade, OTA - Downgrade; Upgrading and downgrading Particle Device OS: Manual OTA downgrades",
};

pub const PARTS_UP_IN_ORDER: Rule = Rule {
    id: "system-parts-in-order-going-up",
    why: "going up, the system parts go in numerical order (1, 2, 3), all of the same release",
    seed: "Versions and upgrades: Using DFU over USB on Electron/Photon/P1; Programming devices: USB (Particle CLI, manually)",
};

pub const PARTS_DOWN_REVERSED: Rule = Rule {
    id: "system-parts-in-reverse-going-down",
    why: "downgrading over the air or serial, the system parts go in reverse numerical order (3, 2, 1), all of the same release",
    seed: "Versions and upgrades: OTA - Downgrade; Upgrading and downgrading Particle Device OS: Manual OTA downgrades; Programming devices (--serial)",
};

pub const PARTS_DOWN_OVER_DFU: Rule = Rule {
    id: "system-parts-over-dfu-in-any-order",
    why: "over DFU a downgrade may write the system parts in any order; numerical, as in the guide's example, all of the same release",
    seed: "Versions and upgrades: USB Downgrade - Particle CLI",
};

pub const BOOTLOADER_WHEN_IT_CHANGES: Rule = Rule {
    id: "bootloader-when-it-changes",
    why: "the bootloader is written on its own, after the system parts, when the release's bootloader differs from the device's; never in DFU mode (listening mode or over the air), and never by the cloud when going down",
    seed: "Versions and upgrades: Manually over USB, Using Particle Workbench; Upgrading and downgrading Particle Device OS: Using USB serial mode",
};

pub const BOOTLOADER_IN_SYSTEM_PARTS: Rule = Rule {
    id: "gen2-bootloader-inside-system-parts-before-0.7.0",
    why: "before 0.7.0 a Gen 2 release carries its bootloader inside its system parts: there is no bootloader file to write",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1, Downgrade Charts",
};

pub const SOFTDEVICE_WHEN_IT_CHANGES: Rule = Rule {
    id: "softdevice-when-it-changes",
    why: "Gen 3 only: the SoftDevice (radio stack) is rarely updated, so it is written only when the release's differs from the device's or the table cannot tell",
    seed: "Versions and upgrades: Manually over USB, Updating SoftDevice and Bootloader",
};

pub const NCP_GOING_UP: Rule = Rule {
    id: "ncp-going-up-across-its-release",
    why: "the network co-processor firmware is written on its own (listening mode or over the air; `particle update` does not write it) when going up across the release that brought it; it is never downgraded",
    seed: "Programming devices: the Tracker SoM NCP firmware was upgraded in Device OS 3.0.0; Versions and upgrades: NCP Upgrade",
};

pub const GEN3_DFU_ONLY: Rule = Rule {
    id: "gen3-0.8.0-rc-upgrades-over-dfu-only",
    why: "the first Gen 3 devices, on 0.8.0 release candidates, can only upgrade Device OS in DFU mode; from 0.9.0 on listening mode works too",
    seed: "Versions and upgrades: Manually over USB (footnote on listening mode)",
};

pub const MONOLITHIC_USB_ONLY: Rule = Rule {
    id: "photon-monolithic-firmware-usb-only",
    why: "a Photon running monolithic firmware can only be switched to modular firmware by USB",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1",
};

pub const DIRECT_UPGRADE_SINCE: Rule = Rule {
    id: "photon-p1-direct-upgrade-from-0.4.6",
    why: "a Photon or P1 upgrades directly to any release from 0.4.6 or later",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1",
};

pub const SWD_RESTORE_IMAGE: Rule = Rule {
    id: "swd-one-restore-image",
    why: "over SWD/JTAG one restore image writes every module at once, so it upgrades and downgrades alike: no intermediate releases, no part order, no device modes",
    seed: "Versions and upgrades: Manually over SWD/JTAG, SWD/JTAG Device Restore; Programming devices: SWD/JTAG",
};

pub const MINIMUM_RELEASE: Rule = Rule {
    id: "platform-and-model-minimum-releases",
    why: "some platforms and models cannot run releases before a minimum",
    seed: "Versions and upgrades: Recommended LTS versions",
};

pub const PUBLISHED_FOR_PLATFORM: Rule = Rule {
    id: "release-published-for-platform",
    why: "a platform runs only the releases Particle published for it (the Photon and P1 never had 0.6.4)",
    seed: "system-versions.md (release history)",
};

pub const LAST_LINE: Rule = Rule {
    id: "gen2-stays-on-2.x-lts",
    why: "the Photon, P1, Electron and E Series must stay on the 2.x LTS line",
    seed: "Versions and upgrades: Devices that must stay on 2.x LTS",
};

pub const ADVISED_MINIMUM: Rule = Rule {
    id: "advised-minimum-release",
    why: "the seeds advise against going below the release a device shipped with",
    seed: "Versions and upgrades: Devices that must stay on 2.x LTS (footnotes)",
};

pub const CORE_MONOLITHIC: Rule = Rule {
    id: "core-monolithic-no-device-os-to-plan",
    why: "the Spark Core runs monolithic firmware: each application carries its own Device OS",
    seed: "Upgrading and downgrading Particle Device OS: Automatic updates - Spark Core",
};

/// Every rule of this file (the stop rules are in `releases.toml`).
pub const ALL: &[Rule] = &[
    USER_FIRMWARE_FIRST,
    PARTS_UP_IN_ORDER,
    PARTS_DOWN_REVERSED,
    PARTS_DOWN_OVER_DFU,
    BOOTLOADER_WHEN_IT_CHANGES,
    BOOTLOADER_IN_SYSTEM_PARTS,
    SOFTDEVICE_WHEN_IT_CHANGES,
    NCP_GOING_UP,
    GEN3_DFU_ONLY,
    MONOLITHIC_USB_ONLY,
    DIRECT_UPGRADE_SINCE,
    SWD_RESTORE_IMAGE,
    MINIMUM_RELEASE,
    PUBLISHED_FOR_PLATFORM,
    LAST_LINE,
    ADVISED_MINIMUM,
    CORE_MONOLITHIC,
];
