//! What to check when no probe is found: the cable, the Linux permissions (udev rules for
//! the probes hexsmith drives through probe-rs), the Windows drivers.

/// `hexsmith probes --udev-rules`: a rules file for the Particle Debugger (a DAPLink
/// CMSIS-DAP probe, 0d28:0204), every SEGGER J-Link (vendor 1366) and the ST-LINK/V2,
/// V2-1 and V3 models. Access goes to the user at the console (`uaccess`) and to the
/// `plugdev` group, for a station run under a service account.
pub const UDEV_RULES: &str = r#"# Debug probes hexsmith drives through probe-rs: Particle Debugger, SEGGER J-Link, ST-LINK.
# Install:  hexsmith probes --udev-rules | sudo tee /etc/udev/rules.d/69-hexsmith-probes.rules
#           sudo udevadm control --reload && sudo udevadm trigger
# then unplug the probe and plug it in again. Access goes to the user logged in at the
# console (uaccess) and to members of the plugdev group (sudo usermod -aG plugdev USER).
ACTION!="add|change", GOTO="hexsmith_probes_end"
SUBSYSTEM!="usb|hidraw|tty", GOTO="hexsmith_probes_end"

# Particle Debugger (DAPLink, CMSIS-DAP v1 over HID and v2 over bulk USB)
ATTRS{idVendor}=="0d28", ATTRS{idProduct}=="0204", MODE="660", GROUP="plugdev", TAG+="uaccess"

# SEGGER J-Link, every model
ATTRS{idVendor}=="1366", MODE="660", GROUP="plugdev", TAG+="uaccess"

# ST-LINK/V2
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="3748", MODE="660", GROUP="plugdev", TAG+="uaccess"
# ST-LINK/V2-1 (with and without mass storage)
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="374a", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="374b", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="3752", MODE="660", GROUP="plugdev", TAG+="uaccess"
# ST-LINK/V3 (STLINK-V3SET, V3MINI, V3MODS, V3PWR)
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="374e", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="374f", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="3753", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="3754", MODE="660", GROUP="plugdev", TAG+="uaccess"
ATTRS{idVendor}=="0483", ATTRS{idProduct}=="3757", MODE="660", GROUP="plugdev", TAG+="uaccess"

LABEL="hexsmith_probes_end"
"#;

/// The lines printed under "no debug probe attached", most likely cause first.
pub const NO_PROBE_HINTS: &[&str] = &[
    "check the USB cable: a data cable (a charge-only one powers the probe but shows no device), plugged in firmly, the probe's LED on",
    "Linux: `lsusb` should list the probe (Particle Debugger 0d28:0204, J-Link 1366:*, ST-LINK 0483:*); if it does but hexsmith finds none, your user may not open it: install the udev rules `hexsmith probes --udev-rules` prints (instructions at their top)",
    "Windows: the Particle Debugger needs no driver (CMSIS-DAP over HID), a J-Link needs SEGGER's J-Link driver, an ST-LINK ST's ST-LINK driver or WinUSB (set with Zadig)",
    "then `hexsmith probes` lists what is attached, and `hexsmith -vv probes` shows probe-rs's own account of the search",
];
