//! SIGINT and SIGTERM: a command that is writing files removes its temporary files and
//! exits 130; a flash run, which must stop between erase units rather than at once, asks
//! for the signal as a flag instead, and exits 130 when it stopped. A second signal ends
//! the process at once, whatever the first is waiting for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

static CANCEL_FLAG: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

pub fn install() {
    let _ = ctrlc::set_handler(|| {
        // Before anything that may wait: the next signal must not queue behind this one.
        quit_on_next_signal();
        let flag = CANCEL_FLAG
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match flag {
            Some(flag) => flag.store(true, Ordering::SeqCst),
            None => {
                hexsmith::output::remove_temporaries();
                std::process::exit(130);
            }
        }
    });
    // Past `ulimit -f`, a write should fail (and its temporary file be removed) rather
    // than the process be killed with the file left behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// Replaces the handler with one that exits 130 in the signal itself: ctrlc runs its
/// handler on one thread, so a second signal would wait for the first handler to
/// return. What that leaves, README "Reliability" says: temporary files, which the next
/// write into their folder removes (their lock died with the process).
fn quit_on_next_signal() {
    #[cfg(unix)]
    {
        extern "C" fn quit(_: libc::c_int) {
            // SAFETY: _exit is async-signal-safe and ends the process.
            unsafe { libc::_exit(130) }
        }
        let handler = quit as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler calls only _exit, which is async-signal-safe.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }
}

/// From now on, SIGINT and SIGTERM set `flag` instead of ending the process.
#[cfg_attr(not(feature = "probe"), allow(dead_code))]
pub fn cancel_with(flag: Arc<AtomicBool>) {
    *CANCEL_FLAG.lock().unwrap_or_else(|e| e.into_inner()) = Some(flag);
}

/// Whether a signal asked the run to stop (only a run that called [`cancel_with`] lives
/// on to ask).
#[cfg_attr(not(feature = "probe"), allow(dead_code))]
pub fn cancelled() -> bool {
    CANCEL_FLAG
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .as_ref()
        .is_some_and(|f| f.load(Ordering::SeqCst))
}
