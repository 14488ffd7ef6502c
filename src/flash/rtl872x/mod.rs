//! Programming the RTL872x (P2, Photon 2, M-SoM, Tracker M) the way Particle does: its
//! RAM flash loader runs on the KM0 core and takes commands through a mailbox in RAM
//! (spec 4.1). `loader` reads the loader from the user's file; `mailbox` (with probe
//! support) boots it and drives it with probe-rs's memory access behind [`super::FlashTarget`].

pub mod loader;

/// The probe-rs target name hexsmith registers for the RTL8721DM (probe-rs has none): a
/// chip of that name is programmed through the loader, not a flash algorithm.
pub const RTL8721DM: &str = "RTL8721DM";
#[cfg(feature = "probe")]
pub mod mailbox;
