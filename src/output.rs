//! How hexsmith writes files, for every command: nothing an output replaces is lost
//! unless the whole new content is in place, and nothing is clobbered by mistake.
//!
//! - An output never replaces one of the command's inputs (compared by device and inode,
//!   so another name or a hard link for the same file is caught), and never two outputs
//!   of one command are the same file.
//! - A symbolic link, a device node, a folder or any other non-regular file at an output
//!   path is refused, as is a read-only file: replacing them would surprise.
//! - Content goes to a temporary file in the output's own folder, is fsynced, renamed
//!   over the target, and the folder is fsynced: a power cut leaves the old file or the
//!   new one, never an empty one.
//! - A set of outputs (a catalog build) is staged whole first and renamed only when every
//!   file is written, under a lock on the folder, so a failure leaves the previous set
//!   whole and two concurrent runs never mix their files.
//! - Temporary files are named `.hexsmith-PID-XXXXXX.tmp` and each is held under an
//!   exclusive lock (`flock`) by the process writing it for as long as it lives.
//!   [`remove_temporaries`] (the command line calls it on SIGINT and SIGTERM) deletes
//!   those of this process; a later write into the same folder deletes those nobody
//!   holds locked. The lock, not the PID in the name, is the proof: a PID says nothing
//!   across PID namespaces or hosts sharing a volume, a lock dies with its holder.
//! - A file appended to (a log) gets whole lines: one write per line under a lock on
//!   the file, cut back to its former length if the write fails (a full disk), so a
//!   failed append leaves no half line for the next one to be glued to.
//! - Every rule is checked before the command does any work ([`check_output`],
//!   [`OutputSet::check`], [`AppendFile::open`]), and again when the file is written.

use std::fs::{File, Metadata};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why an output was not written. All but [`OutputError::Io`] are refusals made before
/// the target is touched.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    /// The output is one of the command's inputs (the same file by device and inode,
    /// whatever its name).
    #[error(
        "{path}: is also an input ({input}): writing it would destroy that input: choose another output name"
    )]
    IsInput {
        /// The output, as named.
        path: PathBuf,
        /// The input it is, as named.
        input: PathBuf,
    },
    /// Two outputs of one [`OutputSet`] have the same name in the same folder.
    #[error("{path}: named twice as an output of one command: give each output its own name")]
    Twice {
        /// The second output so named.
        path: PathBuf,
    },
    /// The output path is a symbolic link, which hexsmith neither writes through nor
    /// replaces.
    #[error(
        "{path}: is a symbolic link: hexsmith neither writes through nor replaces links: give the file it points to, or remove the link"
    )]
    Symlink {
        /// The output, as named.
        path: PathBuf,
    },
    /// The output path is a folder, device node, pipe, socket or other special file.
    #[error(
        "{path}: is {kind}, not a regular file: hexsmith only replaces regular files: choose another output name"
    )]
    NotRegular {
        /// The output, as named.
        path: PathBuf,
        /// What it is, as a phrase: `a folder`, `a device node`, `a named pipe`, ...
        kind: &'static str,
    },
    /// The file at the output path is read-only: someone meant to keep it.
    #[error("{path}: is read-only: make it writable (chmod u+w) or choose another output name")]
    ReadOnly {
        /// The output, as named.
        path: PathBuf,
    },
    /// The file at the output path belongs to another user (Unix; root may replace any):
    /// a new file would be owned by this user instead.
    #[error(
        "{path}: belongs to another user (uid {owner}): replacing it would change its owner: choose another output name"
    )]
    OtherOwner {
        /// The output, as named.
        path: PathBuf,
        /// The file's owner, a Unix user id.
        owner: u32,
    },
    /// [`prepare_folder`] was given a path where a file (not a folder) exists.
    #[error("{path}: is a file, not a folder: give --out-dir a folder (new or existing)")]
    NotAFolder {
        /// The path given.
        path: PathBuf,
    },
    /// The file system failed: a folder could not be read, created or locked, or writing,
    /// syncing or renaming failed (a full disk, missing permission).
    #[error("{path}: {source}")]
    Io {
        /// The output, or its folder.
        path: PathBuf,
        /// What the operating system said.
        #[source]
        source: std::io::Error,
    },
}

impl OutputError {
    /// An output that cannot be written is `Unreadable` (exit 2, as an unusable input);
    /// one that would break a rule is refused.
    pub fn failure(&self) -> crate::report::Failure {
        match self {
            OutputError::Io { .. } => crate::report::Failure::Unreadable,
            _ => crate::report::Failure::Refused,
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OutputError + '_ {
        move |source| OutputError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Temporary files of this process not yet renamed into place. Held while a set is
/// renamed, so that a signal handler calling [`remove_temporaries`] waits for the set to
/// be whole rather than cutting it in half.
static TEMPORARIES: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

const TEMP_PREFIX: &str = ".hexsmith-";
const TEMP_SUFFIX: &str = ".tmp";

/// Deletes every temporary file this process has open for output. For signal handlers:
/// call it, then exit.
pub fn remove_temporaries() {
    let temps = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
    for path in temps.iter() {
        let _ = std::fs::remove_file(path);
    }
    // Held until the process exits, so that no other thread makes a new one meanwhile.
    std::mem::forget(temps);
}

fn forget_temporary(path: &Path) {
    let mut temps = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
    temps.retain(|p| p != path);
}

/// Writes `bytes` to `path` by the rules of this module ([`crate::output`]), with no
/// inputs to protect.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    write_atomic_with(path, |file| file.write_all(bytes))
}

/// Like [`write_atomic`], with the content written by `fill`.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut File) -> std::io::Result<()>,
) -> Result<(), OutputError> {
    let mut set = OutputSet::new(std::iter::empty::<&Path>());
    set.stage(path, fill)?;
    set.commit()
}

/// Refuses `path` as an output of a command whose inputs are `inputs`, before any work
/// is done: what [`OutputSet::check`] says of it.
pub fn check_output<'a>(
    path: &Path,
    inputs: impl IntoIterator<Item = &'a Path>,
) -> Result<(), OutputError> {
    OutputSet::new(inputs).check(path)
}

/// A file that lines are appended to (`flash --log`), by the rules of this module: never
/// through a symbolic link, never to a special or read-only file or one of the command's
/// inputs, and whole lines only.
pub struct AppendFile {
    path: PathBuf,
    file: File,
}

impl AppendFile {
    /// Opens `path` for appending, creating it if needed (earlier lines are kept), after
    /// refusing it as [`OutputSet::check`] refuses an output of a command whose inputs are
    /// `inputs`. The file is opened without following a link and without blocking on a
    /// pipe, and checked again once open, so nothing swapped in between is written.
    pub fn open<'a>(
        path: &Path,
        inputs: impl IntoIterator<Item = &'a Path>,
    ) -> Result<AppendFile, OutputError> {
        let rules = OutputSet::new(inputs);
        rules.check(path)?;
        let mut options = std::fs::OpenOptions::new();
        options.read(true).create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let file = options.open(path).map_err(|e| {
            // O_NOFOLLOW answers a link made since the check with ELOOP.
            #[cfg(unix)]
            if e.raw_os_error() == Some(libc::ELOOP) {
                return OutputError::Symlink { path: path.into() };
            }
            OutputError::io(path)(e)
        })?;
        let meta = file.metadata().map_err(OutputError::io(path))?;
        rules.check_existing(path, &meta)?;
        Ok(AppendFile {
            path: path.into(),
            file,
        })
    }

    /// The file, as named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `line` and a newline in one write, under an exclusive lock on the file
    /// (concurrent writers' lines never interleave), and syncs it to disk. A line left
    /// without its newline by someone else is ended first. If the write or the sync
    /// fails, the file is cut back to its length before: no half line stays. A newline
    /// inside `line` is written as `\n`, so one call is one line.
    pub fn append_line(&mut self, line: &str) -> Result<(), OutputError> {
        use std::io::{Read, Seek, SeekFrom};
        let io = OutputError::io(&self.path);
        self.file.lock().map_err(OutputError::io(&self.path))?;
        let result = (|| {
            let before = self.file.metadata()?.len();
            let mut text = String::with_capacity(line.len() + 2);
            if before > 0 {
                let mut last = [0u8; 1];
                let mut reader = &self.file;
                reader.seek(SeekFrom::Start(before - 1))?;
                reader.read_exact(&mut last)?;
                if last[0] != b'\n' {
                    text.push('\n');
                }
            }
            text.push_str(&line.replace('\n', "\\n"));
            text.push('\n');
            let written = (&self.file)
                .write_all(text.as_bytes())
                .and_then(|()| self.file.sync_data());
            if let Err(e) = written {
                let _ = self.file.set_len(before);
                let _ = self.file.sync_data();
                return Err(e);
            }
            Ok(())
        })();
        let _ = self.file.unlock();
        result.map_err(io)
    }
}

/// The identity of a file: two paths name the same file exactly when these agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

impl FileId {
    #[cfg(unix)]
    fn of(meta: &Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    #[cfg(not(unix))]
    fn of(_meta: &Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

struct Staged {
    target: PathBuf,
    temp: tempfile::NamedTempFile,
}

/// The outputs of one command: checked against its inputs and each other, staged as
/// temporary files, then renamed into place together by [`OutputSet::commit`]. Dropped
/// without a commit, it deletes what it staged and leaves every target as it was.
pub struct OutputSet {
    inputs: Vec<(FileId, PathBuf)>,
    /// Inputs that do not exist yet (an emulator state a command will create), by
    /// their folder and file name: an output of the same name would be that file.
    absent_inputs: Vec<(FileId, std::ffi::OsString, PathBuf)>,
    /// Each staged target's folder and file name, to catch one file named twice.
    names: Vec<(FileId, std::ffi::OsString, PathBuf)>,
    staged: Vec<Staged>,
}

impl OutputSet {
    /// A set that refuses to replace any of `inputs`. An input that does not exist yet
    /// (an emulator state the command will create) is refused by its folder and name.
    pub fn new<'a>(inputs: impl IntoIterator<Item = &'a Path>) -> OutputSet {
        let mut present = Vec::new();
        let mut absent_inputs = Vec::new();
        for p in inputs {
            match std::fs::metadata(p) {
                Ok(m) => present.push((FileId::of(&m), p.into())),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    if let Some(place) = place_of(p) {
                        absent_inputs.push((place.0, place.1, p.into()));
                    }
                }
                Err(_) => {}
            }
        }
        OutputSet {
            inputs: present,
            absent_inputs,
            names: Vec::new(),
            staged: Vec::new(),
        }
    }

    /// Refuses `path` as an output if writing it would break a rule, before any work is
    /// done. [`OutputSet::stage`] checks again.
    pub fn check(&self, path: &Path) -> Result<(), OutputError> {
        match std::fs::symlink_metadata(path) {
            Ok(meta) => self.check_existing(path, &meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.check_absent(path),
            Err(e) => Err(OutputError::io(path)(e)),
        }
    }

    /// An output that does not exist yet may still be an input that does not either.
    fn check_absent(&self, path: &Path) -> Result<(), OutputError> {
        let Some((dir, name)) = place_of(path) else {
            return Ok(());
        };
        match self
            .absent_inputs
            .iter()
            .find(|(d, n, _)| *d == dir && *n == name)
        {
            Some((_, _, input)) => Err(OutputError::IsInput {
                path: path.into(),
                input: input.clone(),
            }),
            None => Ok(()),
        }
    }

    fn check_existing(&self, path: &Path, meta: &Metadata) -> Result<(), OutputError> {
        let kind = meta.file_type();
        if kind.is_symlink() {
            return Err(OutputError::Symlink { path: path.into() });
        }
        if !kind.is_file() {
            return Err(OutputError::NotRegular {
                path: path.into(),
                kind: describe_kind(meta),
            });
        }
        let id = FileId::of(meta);
        if let Some((_, input)) = self.inputs.iter().find(|(i, _)| *i == id) {
            return Err(OutputError::IsInput {
                path: path.into(),
                input: input.clone(),
            });
        }
        if meta.permissions().readonly() {
            return Err(OutputError::ReadOnly { path: path.into() });
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            // SAFETY: geteuid has no preconditions and cannot fail.
            let me = unsafe { libc::geteuid() };
            if meta.uid() != me && me != 0 {
                return Err(OutputError::OtherOwner {
                    path: path.into(),
                    owner: meta.uid(),
                });
            }
        }
        Ok(())
    }

    /// Writes one output's content, by `fill`, to a temporary file beside `path` and
    /// fsyncs it, refusing `path` as [`OutputSet::check`] does and when the set holds it
    /// already. The temporary file gets the mode and owner of the file it will replace
    /// (0644 for a new one); the target is untouched until [`OutputSet::commit`].
    pub fn stage(
        &mut self,
        path: &Path,
        fill: impl FnOnce(&mut File) -> std::io::Result<()>,
    ) -> Result<(), OutputError> {
        let existing = match std::fs::symlink_metadata(path) {
            Ok(meta) => {
                self.check_existing(path, &meta)?;
                Some(meta)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                self.check_absent(path)?;
                None
            }
            Err(e) => return Err(OutputError::io(path)(e)),
        };
        let dir = folder_of(path);
        let dir_meta = std::fs::metadata(dir).map_err(OutputError::io(dir))?;
        let name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
        let dir_id = FileId::of(&dir_meta);
        if self
            .names
            .iter()
            .any(|(d, n, _)| *d == dir_id && *n == name)
        {
            return Err(OutputError::Twice { path: path.into() });
        }
        remove_stale_temporaries(dir);

        let mut temp = new_temporary(dir).map_err(OutputError::io(path))?;
        let staged_path = temp.path().to_path_buf();
        let written = fill(temp.as_file_mut())
            .and_then(|()| keep_attributes(temp.as_file(), existing.as_ref()))
            .and_then(|()| temp.as_file().sync_all());
        if let Err(e) = written {
            drop(temp);
            forget_temporary(&staged_path);
            return Err(OutputError::io(path)(e));
        }
        self.names.push((dir_id, name, path.into()));
        self.staged.push(Staged {
            target: path.into(),
            temp,
        });
        Ok(())
    }

    /// Renames every staged file over its target, then fsyncs their folders. Renames are
    /// made under an exclusive lock of each folder, so a concurrent hexsmith's set lands
    /// wholly before or wholly after this one. Each target is checked again under the
    /// lock; a target that fails it, or a rename that fails (rare: each temporary file
    /// lies in its target's folder), stops the set there: targets renamed before it stay
    /// replaced, and the rest are left as they were.
    pub fn commit(self) -> Result<(), OutputError> {
        // The folder locks are waited for before the temporaries' mutex is taken: a
        // signal while waiting must still be able to remove the temporaries and end.
        let mut folders: Vec<(PathBuf, File)> = Vec::new();
        for s in &self.staged {
            let dir = folder_of(&s.target).to_path_buf();
            if !folders.iter().any(|(d, _)| *d == dir) {
                let handle = File::open(&dir).map_err(OutputError::io(&dir))?;
                handle.lock().map_err(OutputError::io(&dir))?;
                folders.push((dir, handle));
            }
        }
        let mut temps = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
        // Every target checked again under the lock, all before the first rename: the
        // set lands whole or not at all when one changed since staging.
        let mut result =
            self.staged
                .iter()
                .try_for_each(|s| match std::fs::symlink_metadata(&s.target) {
                    Ok(meta) if meta.file_type().is_symlink() => Err(OutputError::Symlink {
                        path: s.target.clone(),
                    }),
                    Ok(meta) if !meta.file_type().is_file() => Err(OutputError::NotRegular {
                        path: s.target.clone(),
                        kind: describe_kind(&meta),
                    }),
                    _ => Ok(()),
                });
        for s in self.staged {
            let temp_path = s.temp.path().to_path_buf();
            if result.is_ok() {
                result = s
                    .temp
                    .persist(&s.target)
                    .map(drop)
                    .map_err(|e| OutputError::io(&s.target)(e.error));
            }
            temps.retain(|p| *p != temp_path);
        }
        for (dir, handle) in &folders {
            if result.is_ok() {
                result = handle.sync_all().map_err(OutputError::io(dir));
            }
        }
        result
    }
}

/// A new temporary file in `dir`, registered for [`remove_temporaries`] and held under
/// an exclusive lock for as long as it is open: the lock is what tells another run it
/// is live. A file that another run's [`remove_stale_temporaries`] deleted between its
/// creation and the lock (it looked unlocked then) is made again.
fn new_temporary(dir: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    loop {
        // Created and registered under the mutex: a signal in between would leave a
        // file that `remove_temporaries` does not know of.
        let mut temps = TEMPORARIES.lock().unwrap_or_else(|e| e.into_inner());
        let temp = tempfile::Builder::new()
            .prefix(&format!("{TEMP_PREFIX}{}-", std::process::id()))
            .suffix(TEMP_SUFFIX)
            .tempfile_in(dir)?;
        temps.push(temp.path().to_path_buf());
        drop(temps);
        temp.as_file().lock()?;
        let named = std::fs::symlink_metadata(temp.path()).map(|m| FileId::of(&m));
        let held = FileId::of(&temp.as_file().metadata()?);
        if named.is_ok_and(|n| n == held) {
            return Ok(temp);
        }
        forget_temporary(temp.path());
        // Its name is gone or another file's: dropping must not delete that one.
        let _ = temp.into_temp_path().keep();
    }
}

/// A file's folder (by identity) and name, for a file that need not exist.
fn place_of(path: &Path) -> Option<(FileId, std::ffi::OsString)> {
    let name = path.file_name()?.to_owned();
    let dir = std::fs::metadata(folder_of(path)).ok()?;
    Some((FileId::of(&dir), name))
}

fn folder_of(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

fn describe_kind(meta: &Metadata) -> &'static str {
    let kind = meta.file_type();
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_char_device() || kind.is_block_device() {
            return "a device node";
        }
        if kind.is_fifo() {
            return "a named pipe";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    if kind.is_dir() {
        "a folder"
    } else {
        "a special file"
    }
}

/// A temporary file is private; the result keeps the mode and owner of the file it
/// replaces, or gets the mode of any new file.
fn keep_attributes(file: &File, existing: Option<&Metadata>) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let mode = existing.map_or(0o644, |m| m.permissions().mode() & 0o7777);
        file.set_permissions(std::fs::Permissions::from_mode(mode))?;
        if let Some(m) = existing {
            std::os::unix::fs::fchown(file, Some(m.uid()), Some(m.gid()))?;
        }
    }
    #[cfg(not(unix))]
    let _ = (file, existing);
    Ok(())
}

/// Deletes `.hexsmith-*.tmp` files in `dir` that no one holds locked: what a run killed
/// by SIGKILL or a power cut left behind. Whether its process runs is not asked: in
/// another PID namespace, or on another host sharing the volume, its PID means nothing.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let ours = name
            .to_str()
            .is_some_and(|n| n.starts_with(TEMP_PREFIX) && n.ends_with(TEMP_SUFFIX));
        if !ours || !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let mut options = std::fs::OpenOptions::new();
        options.read(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        let Ok(file) = options.open(&path) else {
            continue;
        };
        if file.try_lock().is_err() {
            continue;
        }
        // Deleted while locked by us, so that its owner, if it only now took it, sees
        // its name gone and makes another.
        let same = match (file.metadata(), std::fs::symlink_metadata(&path)) {
            (Ok(a), Ok(b)) => FileId::of(&a) == FileId::of(&b),
            _ => false,
        };
        if same {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// Makes `dir` a folder for outputs, creating it if needed; refuses a file there.
pub fn prepare_folder(dir: &Path) -> Result<(), OutputError> {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(OutputError::NotAFolder { path: dir.into() }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(OutputError::io(dir))
        }
        Err(e) => Err(OutputError::io(dir)(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A line left without its newline (by another program, or a crash in an older
    /// hexsmith) is ended before the next one, and a newline inside a line is escaped:
    /// every append is one whole line.
    #[test]
    fn appends_are_whole_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.jsonl");
        std::fs::write(&path, "half").unwrap();
        let mut log = AppendFile::open(&path, std::iter::empty::<&Path>()).unwrap();
        log.append_line("{\"a\":1}").unwrap();
        log.append_line("two\nlines").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "half\n{\"a\":1}\ntwo\\nlines\n"
        );
    }

    /// Every target is checked again before the first rename: one that became a folder
    /// since staging stops the whole set, and the other target keeps its old content.
    #[test]
    fn a_target_changed_after_staging_stops_the_set_before_any_rename() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.hex"), dir.path().join("b.hex"));
        std::fs::write(&a, "old a").unwrap();
        let mut set = OutputSet::new(std::iter::empty::<&Path>());
        set.stage(&a, |f| f.write_all(b"new a")).unwrap();
        set.stage(&b, |f| f.write_all(b"new b")).unwrap();
        std::fs::create_dir(&b).unwrap();
        let refused = set.commit().unwrap_err();
        assert!(
            matches!(refused, OutputError::NotRegular { .. }),
            "{refused}"
        );
        assert_eq!(std::fs::read_to_string(&a).unwrap(), "old a");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left.len(), 2, "temporary files left: {left:?}");
    }
}
