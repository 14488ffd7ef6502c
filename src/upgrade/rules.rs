//! The seed rules a plan follows that are logic rather than a list of releases, each with
//! the name plans and tests know it by and where in the seeds it comes from. (Intermediate
//! releases are data: the `[[stop]]` rules of `releases.toml`.) Some rules are carried out
//! by per-platform data ([`super::seeds::PlatformReleases`]) and are named here so that
//! every rule has an id and a source.

/// One rule of the seeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The stable name plans carry ([`super::Write::rule`], [`super::Step::rule`], after
    /// the reason in a warning), refusals name after the reason ([`super::PlanError`]),
    /// and tests are named after; unique among these and the stop rules.
    pub id: &'static str,
    /// The reason, as a plan quotes it.
    pub why: &'static str,
    /// Where in the seeds (Particle's upgrade and downgrade guides) it comes from: guide
    /// title, then section.
    pub seed: &'static str,
}

/// The rule of a plan's last step: the release asked for. Not a seed rule.
pub const TARGET: Rule = Rule {
    id: "target",
    why: "the release asked for",
    seed: "",
};

/// Going down, an application for the target (or Tinker) is written before any Device
/// OS, or safe mode would undo the downgrade (the guides' downgrade steps).
pub const USER_FIRMWARE_FIRST: Rule = Rule {
    id: "user-firmware-first-when-downgrading",
    why: "an application built for a newer Device OS would send the device into safe mode, and the safe mode healer would upgrade it again: write one built for the target release or earlier (or Tinker) before any Device OS",
    seed: "Versions and upgrades: USB Downgrade, OTA - Downgrade; Upgrading and downgrading Particle Device OS: Manual OTA downgrades",
};

/// Going up, system parts 1, 2, 3 in that order (the guides' DFU and manufacturing steps).
pub const PARTS_UP_IN_ORDER: Rule = Rule {
    id: "system-parts-in-order-going-up",
    why: "going up, the system parts go in numerical order (1, 2, 3), all of the same release",
    seed: "Versions and upgrades: Using DFU over USB on Electron/Photon/P1; Programming devices: USB (Particle CLI, manually)",
};

/// Going down over the air or serial, system parts 3, 2, 1 (the guides' OTA downgrade).
pub const PARTS_DOWN_REVERSED: Rule = Rule {
    id: "system-parts-in-reverse-going-down",
    why: "downgrading over the air or serial, the system parts go in reverse numerical order (3, 2, 1), all of the same release",
    seed: "Versions and upgrades: OTA - Downgrade; Upgrading and downgrading Particle Device OS: Manual OTA downgrades; Programming devices (--serial)",
};

/// Going down over DFU, any part order will do; plans keep numerical order (the guides'
/// USB downgrade).
pub const PARTS_DOWN_OVER_DFU: Rule = Rule {
    id: "system-parts-over-dfu-in-any-order",
    why: "over DFU a downgrade may write the system parts in any order; numerical, as in the guide's example, all of the same release",
    seed: "Versions and upgrades: USB Downgrade - Particle CLI",
};

/// The bootloader is a write of its own, after the system parts and only when it
/// changes; it cannot be written in DFU mode, and the cloud never downgrades it.
pub const BOOTLOADER_WHEN_IT_CHANGES: Rule = Rule {
    id: "bootloader-when-it-changes",
    why: "the bootloader is written on its own, after the system parts, when the release's bootloader differs from the device's; never in DFU mode (listening mode or over the air), and never by the cloud when going down",
    seed: "Versions and upgrades: Manually over USB, Using Particle Workbench; Upgrading and downgrading Particle Device OS: Using USB serial mode",
};

/// Gen 2 before 0.7.0: no bootloader write, the system parts carry it (the old guide's
/// Photon/P1 charts). Data: [`super::seeds::PlatformReleases::bootloader_in_system_parts_before`].
pub const BOOTLOADER_IN_SYSTEM_PARTS: Rule = Rule {
    id: "gen2-bootloader-inside-system-parts-before-0.7.0",
    why: "before 0.7.0 a Gen 2 release carries its bootloader inside its system parts: there is no bootloader file to write",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1, Downgrade Charts",
};

/// nRF52840: the SoftDevice is written only when it changes or the table cannot tell, as it
/// rarely changes (the guide's "Updating SoftDevice and Bootloader"). The guides say "Gen 3
/// only" because they predate the Tracker M, a Gen 3 platform on the RTL872x, which has no
/// SoftDevice: the reason names the MCU, as the planner checks it.
pub const SOFTDEVICE_WHEN_IT_CHANGES: Rule = Rule {
    id: "softdevice-when-it-changes",
    why: "nRF52840 platforms only (the guides' Gen 3 devices; not the Tracker M, an RTL872x): the SoftDevice (radio stack) is rarely updated, so it is written only when the release's differs from the device's or the table cannot tell",
    seed: "Versions and upgrades: Manually over USB, Updating SoftDevice and Bootloader",
};

/// The Tracker's NCP firmware is written when going up across the release that brought
/// it, never downgraded (the manufacturing guide's footnote on Device OS 3.0.0).
pub const NCP_GOING_UP: Rule = Rule {
    id: "ncp-going-up-across-its-release",
    why: "the network co-processor firmware is written on its own (listening mode or over the air; `particle update` does not write it) when going up across the release that brought it; it is never downgraded",
    seed: "Programming devices: the Tracker SoM NCP firmware was upgraded in Device OS 3.0.0; Versions and upgrades: NCP Upgrade",
};

/// Gen 3 on 0.8.0 release candidates: serial plans write the system parts in DFU mode,
/// as listening mode cannot. Data: [`super::seeds::PlatformReleases::dfu_only_before`].
pub const GEN3_DFU_ONLY: Rule = Rule {
    id: "gen3-0.8.0-rc-upgrades-over-dfu-only",
    why: "the first Gen 3 devices, on 0.8.0 release candidates, can only upgrade Device OS in DFU mode; from 0.9.0 on listening mode works too",
    seed: "Versions and upgrades: Manually over USB (footnote on listening mode)",
};

/// A Photon on monolithic firmware cannot be planned over the air. Data:
/// [`super::seeds::PlatformReleases::modular_since`]; the refusal is
/// [`super::PlanError::MonolithicOverTheAir`], which names it.
pub const MONOLITHIC_USB_ONLY: Rule = Rule {
    id: "photon-monolithic-firmware-usb-only",
    why: "a Photon running monolithic firmware can only be switched to modular firmware by USB",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1",
};

/// The seeds promise Photon and P1 upgrades straight to any release only from 0.4.6: an
/// upgrade from older is planned with a warning. Data:
/// [`super::seeds::PlatformReleases::direct_upgrade_since`].
pub const DIRECT_UPGRADE_SINCE: Rule = Rule {
    id: "photon-p1-direct-upgrade-from-0.4.6",
    why: "a Photon or P1 upgrades directly to any release from 0.4.6 or later",
    seed: "Upgrading and downgrading Particle Device OS: Upgrade Chart - Photon/P1",
};

/// Over SWD each step is one restore image, so none of the order and mode rules apply.
pub const SWD_RESTORE_IMAGE: Rule = Rule {
    id: "swd-one-restore-image",
    why: "over SWD/JTAG one restore image writes every module at once, so it upgrades and downgrades alike: no intermediate releases, no part order, no device modes",
    seed: "Versions and upgrades: Manually over SWD/JTAG, SWD/JTAG Device Restore; Programming devices: SWD/JTAG",
};

/// Releases older than a platform's or model's minimum are refused (the newest guide's
/// recommended LTS table). Data: `min_release` of
/// [`super::seeds::PlatformReleases`] and [`super::seeds::Model`]; the refusal is
/// [`super::PlanError::CannotRun`], which names it.
pub const MINIMUM_RELEASE: Rule = Rule {
    id: "platform-and-model-minimum-releases",
    why: "some platforms and models cannot run releases before a minimum",
    seed: "Versions and upgrades: Recommended LTS versions",
};

/// A release Particle did not publish for the platform is refused (release history, not
/// the guides), and so is one older than the platform's first. Data:
/// [`crate::platform::SystemRelease::published_for`]; the refusal is
/// [`super::PlanError::CannotRun`], which names it.
pub const PUBLISHED_FOR_PLATFORM: Rule = Rule {
    id: "release-published-for-platform",
    why: "a platform runs only the releases Particle published for it (the Photon and P1 never had 0.6.4)",
    seed: "system-versions.md (release history)",
};

/// On Gen 2 (Photon, P1, Electron), releases past 2.x are refused. Data:
/// [`super::seeds::PlatformReleases::last_line`]; the refusal is
/// [`super::PlanError::CannotRun`], which names it.
pub const LAST_LINE: Rule = Rule {
    id: "gen2-stays-on-2.x-lts",
    why: "the Photon, P1, Electron and E Series must stay on the 2.x LTS line",
    seed: "Versions and upgrades: Devices that must stay on 2.x LTS",
};

/// A downgrade below the release a device shipped with is planned with a warning. Data:
/// [`super::seeds::PlatformReleases::advised_min`].
pub const ADVISED_MINIMUM: Rule = Rule {
    id: "advised-minimum-release",
    why: "the seeds advise against going below the release a device shipped with",
    seed: "Versions and upgrades: Devices that must stay on 2.x LTS (footnotes)",
};

/// The Spark Core has no Device OS of its own to plan: [`super::PlanError::Monolithic`],
/// which names it.
pub const CORE_MONOLITHIC: Rule = Rule {
    id: "core-monolithic-no-device-os-to-plan",
    why: "the Spark Core runs monolithic firmware: each application carries its own Device OS",
    seed: "Upgrading and downgrading Particle Device OS: Automatic updates - Spark Core",
};

/// Every seed rule of this module ([`TARGET`] is none; the stop rules are in
/// `releases.toml`).
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
