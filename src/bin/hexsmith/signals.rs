//! SIGINT and SIGTERM: a command that is writing files removes its temporary files and
//! exits 130; a flash run, which must stop between erase units rather than at once, asks
//! for the signal as a flag instead.

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
    // Past `ulimit -f`, a write should fail (and its temporary file be removed) rather
    // than the process be killed with the file left behind.
    #[cfg(unix)]
    // SAFETY: setting a signal's disposition to "ignore" has no preconditions.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// From now on, SIGINT and SIGTERM set `flag` instead of ending the process.
#[cfg_attr(not(feature = "probe"), allow(dead_code))]
pub fn cancel_with(flag: Arc<AtomicBool>) {
    *CANCEL_FLAG.lock().unwrap_or_else(|e| e.into_inner()) = Some(flag);
}
