//! Programming the RTL872x (P2, Photon 2, M-SoM, Tracker M) the way Particle does: its
//! RAM flash loader runs on the KM0 core and takes commands through a mailbox in RAM
//! (spec 4.1). `loader` reads the loader from the user's file; `mailbox` (with probe
//! support) boots it and drives it with probe-rs's memory access behind [`super::FlashTarget`].

pub mod loader;
#[cfg(feature = "probe")]
pub mod mailbox;
