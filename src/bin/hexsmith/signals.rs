//! SIGINT and SIGTERM: a command that is writing files removes its temporary files and
//! exits 130; a flash run, which must stop between erase units rather than at once, asks
//! for the signal as a flag instead, and exits 130 when it stopped. A second signal ends
//! the process at once, whatever the first is waiting for.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

static CANCEL_FLAG: Mutex<Option<Arc<AtomicBool>>> = Mutex::new(None);

pub fn install() {
    let _ = ctrlc::set_handler(|| {
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
    quit_on_second_signal();
    // Past `ulimit -f`, a write should fail (and its temporary file be removed) rather
    // than the process be killed with the file left behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// ctrlc's handler for each signal, which ours passes the first signal on to.
#[cfg(unix)]
static CTRLC_SIGINT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
#[cfg(unix)]
static CTRLC_SIGTERM: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
#[cfg(unix)]
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// Puts a handler in front of ctrlc's, in the signal itself: the first SIGINT or SIGTERM
/// goes on to ctrlc (whose thread removes the temporaries, or sets the cancel flag), the
/// second exits 130 at once. Counted here, not on ctrlc's thread, which runs one handler
/// at a time and may not have run yet when the second signal comes. What a second signal
/// leaves, README "Reliability" says: temporary files, which the next write into their
/// folder removes (their lock died with the process).
fn quit_on_second_signal() {
    #[cfg(unix)]
    {
        extern "C" fn on_signal(signal: libc::c_int) {
            if SIGNALLED.swap(true, Ordering::SeqCst) {
                // SAFETY: _exit is async-signal-safe and ends the process.
                unsafe { libc::_exit(130) }
            }
            let previous = match signal {
                libc::SIGINT => CTRLC_SIGINT.load(Ordering::SeqCst),
                _ => CTRLC_SIGTERM.load(Ordering::SeqCst),
            };
            if previous != libc::SIG_DFL && previous != libc::SIG_IGN {
                // SAFETY: `previous` is the plain handler ctrlc installed (its sigaction
                // has no SA_SIGINFO), which only writes to its pipe: async-signal-safe.
                let handler: extern "C" fn(libc::c_int) = unsafe { std::mem::transmute(previous) };
                handler(signal);
            }
        }
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        for (signal, previous) in [
            (libc::SIGINT, &CTRLC_SIGINT),
            (libc::SIGTERM, &CTRLC_SIGTERM),
        ] {
            // SAFETY: on_signal calls only async-signal-safe code; the old handler is
            // kept for it before the new one can run.
            unsafe {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(signal, std::ptr::null(), &mut old) != 0 {
                    continue;
                }
                previous.store(old.sa_sigaction, Ordering::SeqCst);
                let mut new: libc::sigaction = std::mem::zeroed();
                new.sa_sigaction = handler;
                new.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut new.sa_mask);
                libc::sigaction(signal, &new, std::ptr::null_mut());
            }
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
