//! One step over the air, serial or USB: which components of a release are written, in
//! which order and device mode, and the rule behind each.

use super::rules::{self, Rule};
use super::seeds::seeds;
use super::{Component, Device, Direction, Mode, Step, Via, Write, names, table_version};
use crate::platform::{SystemRelease, releases};

/// What every step of one plan shares.
pub(super) struct Context<'a> {
    pub device: &'a Device,
    pub via: Via,
    pub direction: Direction,
    /// The plan's target, which the application written first must be built for.
    pub target: &'a SystemRelease,
}

fn write(
    component: Component,
    part: Option<u8>,
    file: String,
    mode: Mode,
    rule: Rule,
    why: String,
) -> Write {
    Write {
        command: mode.command(component, &file),
        then: mode.then(),
        component,
        part,
        file,
        mode,
        optional: false,
        rule: rule.id,
        why,
    }
}

impl Context<'_> {
    /// The step that takes the device from `from` to `to` (one of the plan's releases).
    pub fn step(
        &self,
        from: &SystemRelease,
        to: &SystemRelease,
        first: bool,
        rule: &'static str,
        why: String,
    ) -> Step {
        let mut writes = Vec::new();
        let mut notes = Vec::new();
        if first && self.direction == Direction::Downgrade {
            writes.push(self.user_firmware());
        }
        writes.extend(self.system_parts(from, to));
        writes.extend(self.bootloader(from, to, &mut notes));
        notes.extend(self.prebootloader_note(from, to));
        writes.extend(self.softdevice(from, to));
        writes.extend(self.ncp(from, to));
        let order = match self.direction {
            Direction::Downgrade => &seeds().order.down,
            _ => &seeds().order.up,
        };
        // A stable sort keeps the parts in the order `system_parts` chose.
        writes.sort_by_key(|w| {
            order
                .iter()
                .position(|c| c == w.component.name())
                .unwrap_or(usize::MAX)
        });
        Step {
            version: to.release.clone(),
            module_version: to.module_version(),
            rule,
            why,
            build: None,
            writes,
            notes,
        }
    }

    fn user_firmware(&self) -> Write {
        let mode = match self.via {
            Via::Ota => Mode::Ota,
            Via::Serial => Mode::Listening,
            _ => Mode::Dfu,
        };
        let why = format!(
            "{} (target {})",
            rules::USER_FIRMWARE_FIRST.why,
            self.target.release
        );
        write(
            Component::UserPart,
            None,
            "tinker".to_string(),
            mode,
            rules::USER_FIRMWARE_FIRST,
            why,
        )
    }

    fn system_parts(&self, from: &SystemRelease, to: &SystemRelease) -> Vec<Write> {
        let platform = self.device.platform;
        let count = self.device.system_parts(to);
        let fewer = self.device.fewer_system_parts(to).map(|f| f.why.as_str());
        let (rule, reversed) = match (self.direction, self.via) {
            (Direction::Downgrade, Via::Ota | Via::Serial) => (rules::PARTS_DOWN_REVERSED, true),
            (Direction::Downgrade, _) => (rules::PARTS_DOWN_OVER_DFU, false),
            _ => (rules::PARTS_UP_IN_ORDER, false),
        };
        let (mode, rule, mode_why) = match self.via {
            Via::Ota => (Mode::Ota, rule, None),
            Via::Serial => match &self.device.facts().dfu_only_before {
                Some(b) if from.version() < &table_version(&b.release) => {
                    (Mode::Dfu, rules::GEN3_DFU_ONLY, Some(b.why.clone()))
                }
                _ => (Mode::Listening, rule, None),
            },
            _ => (Mode::Dfu, rule, None),
        };
        let mut parts: Vec<u8> = (1..=count).collect();
        if reversed {
            parts.reverse();
        }
        parts
            .into_iter()
            .map(|n| {
                let mut why = mode_why.clone().unwrap_or_else(|| rule.why.to_string());
                if let Some(f) = &fewer {
                    why = format!("{why} ({f})");
                }
                write(
                    Component::SystemPart,
                    Some(n),
                    names::system_part(platform, n, to),
                    mode,
                    rule,
                    why,
                )
            })
            .collect()
    }

    fn side_mode(&self) -> Mode {
        // Bootloader, SoftDevice and NCP: never DFU (the bootloader cannot be written in
        // DFU mode; the guides write the SoftDevice and NCP in listening mode too).
        if self.via == Via::Ota {
            Mode::Ota
        } else {
            Mode::Listening
        }
    }

    /// The RTL872x prebootloader part has versions of its own (published images: 3 with
    /// 5.0.0 to 13 with 6.5.0). The seeds say nothing of writing it outside a restore
    /// image, so a plan says when it changes rather than invent a way.
    fn prebootloader_note(&self, from: &SystemRelease, to: &SystemRelease) -> Option<String> {
        let platform = self.device.platform;
        let theirs = to.prebootloader?;
        if !platform.is_rtl872x() || from.prebootloader == Some(theirs) {
            return None;
        }
        let had = from
            .prebootloader
            .map_or_else(|| "unknown".to_string(), |v| v.to_string());
        Some(format!(
            "the prebootloader part changes ({had} -> {theirs}, {}): the seeds do not say how to write it on its own; an SWD restore image carries it (--via swd)",
            names::prebootloader(platform, to)
        ))
    }

    fn bootloader(
        &self,
        from: &SystemRelease,
        to: &SystemRelease,
        notes: &mut Vec<String>,
    ) -> Option<Write> {
        if self.device.bootloader_inside_system_parts(to) {
            if !self.device.bootloader_inside_system_parts(from) {
                notes.push(format!(
                    "no bootloader file: {} puts its own bootloader back from its system parts ({})",
                    to.release,
                    rules::BOOTLOADER_IN_SYSTEM_PARTS.id
                ));
            }
            return None;
        }
        let rule = rules::BOOTLOADER_WHEN_IT_CHANGES;
        let (why, optional) = match (from.bootloader, to.bootloader) {
            (Some(a), Some(b)) if a == b => return None,
            (Some(a), Some(b)) => (format!("bootloader {a} -> {b}: {}", rule.why), false),
            (None, Some(b)) => (
                format!(
                    "the table lists no bootloader for {}: write {}'s ({b}); {}",
                    from.release, to.release, rule.why
                ),
                false,
            ),
            (_, None) => (
                format!(
                    "the table lists no bootloader for {}: write it unless `particle serial inspect` shows the release's; {}",
                    to.release, rule.why
                ),
                true,
            ),
        };
        let platform = self.device.platform;
        let mut w = write(
            Component::Bootloader,
            None,
            names::bootloader(platform, to),
            self.side_mode(),
            rule,
            why,
        );
        w.optional = optional;
        Some(w)
    }

    fn softdevice(&self, from: &SystemRelease, to: &SystemRelease) -> Option<Write> {
        let platform = self.device.platform;
        if !platform.is_nrf52840() {
            return None;
        }
        let rule = rules::SOFTDEVICE_WHEN_IT_CHANGES;
        let r = releases();
        let (why, optional) = match (
            r.radio_stack_of(&from.release),
            r.radio_stack_of(&to.release),
        ) {
            (Some(a), Some(b)) if a.module == b.module => return None,
            (Some(a), Some(b)) => (
                format!("SoftDevice {} -> {}: {}", a.name, b.name, rule.why),
                false,
            ),
            _ => (
                format!(
                    "not always required: the table does not know the SoftDevice of {}; write it if `particle serial inspect` shows an older radio stack than {} needs",
                    [from, to]
                        .iter()
                        .filter(|s| r.radio_stack_of(&s.release).is_none())
                        .map(|s| s.release.as_str())
                        .collect::<Vec<_>>()
                        .join(" and "),
                    to.release
                ),
                true,
            ),
        };
        let mut w = write(
            Component::Softdevice,
            None,
            names::softdevice(platform, to),
            self.side_mode(),
            rule,
            why,
        );
        w.optional = optional;
        Some(w)
    }

    fn ncp(&self, from: &SystemRelease, to: &SystemRelease) -> Option<Write> {
        let platform = self.device.platform;
        if self.direction != Direction::Upgrade || !platform.ncp {
            return None;
        }
        let ncp = releases().ncp_of(&platform.name)?;
        let since = table_version(&ncp.since);
        if !(from.version() < &since && &since <= to.version()) {
            return None;
        }
        let rule = rules::NCP_GOING_UP;
        Some(write(
            Component::Ncp,
            None,
            ncp.file.clone(),
            self.side_mode(),
            rule,
            format!(
                "{} came with {} (NCP module version {}); {}",
                ncp.file, ncp.since, ncp.module, rule.why
            ),
        ))
    }
}
