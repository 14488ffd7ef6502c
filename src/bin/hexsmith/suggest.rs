//! Values the shell completions offer for arguments that take any string: platform names,
//! emulated chips, the kinds of probe hexsmith drives. Parsing is left as it is (each
//! command checks the value and says what is wrong in its own words); only the
//! completions learn the candidates.

use clap::builder::{PossibleValue, StringValueParser, TypedValueParser};
use std::ffi::OsStr;

/// A string argument whose completions are `values`.
#[derive(Clone)]
pub struct Suggest(fn() -> Vec<&'static str>);

impl TypedValueParser for Suggest {
    type Value = String;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<String, clap::Error> {
        StringValueParser::new().parse_ref(cmd, arg, value)
    }

    fn possible_values(&self) -> Option<Box<dyn Iterator<Item = PossibleValue> + '_>> {
        Some(Box::new((self.0)().into_iter().map(PossibleValue::new)))
    }
}

/// Every platform hexsmith knows, by name (`src/platform/platforms.toml`).
pub fn platforms() -> Suggest {
    Suggest(|| {
        hexsmith::platform::all()
            .iter()
            .map(|p| p.name.as_str())
            .collect()
    })
}

/// The chips `--emulate` takes.
pub fn emulated_chips() -> Suggest {
    Suggest(|| {
        #[cfg(feature = "emulator")]
        {
            hexsmith::flash::emulator::Chip::ALL
                .iter()
                .map(|c| c.target_name())
                .collect()
        }
        #[cfg(not(feature = "emulator"))]
        {
            Vec::new()
        }
    })
}

/// `--probe` selectors of the probe kinds hexsmith is made for, VID:PID (a serial may
/// follow): the Particle Debugger, SEGGER J-Link, ST-LINK/V2, V2-1 and V3.
pub fn probe_kinds() -> Suggest {
    Suggest(|| {
        vec![
            "0d28:0204",
            "1366:0101",
            "1366:1015",
            "1366:1020",
            "1366:1050",
            "0483:3748",
            "0483:374b",
            "0483:374e",
            "0483:374f",
            "0483:3753",
            "0483:3754",
        ]
    })
}

/// `--probe` of `inspect`: the probe kinds and `auto`, the only one attached.
pub fn probe_kinds_or_auto() -> Suggest {
    Suggest(|| {
        let mut all = vec!["auto"];
        all.extend((probe_kinds().0)());
        all
    })
}
