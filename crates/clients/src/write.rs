//! Updating a client's config file so that nothing is lost, whatever else touches it.
//!
//! [`update`] reads the file, lets the caller compute the new content, and replaces the file
//! only if it still holds what was read; if another program wrote it meanwhile, it starts over
//! from the new content (a few times, then gives up with [`WriteError::KeepsChanging`]). The
//! replacement is a temporary file in the same directory, flushed to disk and renamed over the
//! original, so a crash leaves the old file or the new one, never half of one. The original's
//! permissions are kept; a new file is created readable by its owner only, since configs hold
//! tokens. A symlink (dotfiles) stays a symlink: its target is what gets replaced. Clients that
//! guard their file with a lock directory (Cline's `<file>.lock`) are waited for; its folder
//! is created when the client has not made it yet.
//!
//! Temporary files are named `.<name>.switchboard-<pid>-<n>.tmp`, so that
//! [`remove_stale_temps`] can find those a killed writer left behind. A file that is to hold
//! a token can be made its owner's alone ([`Access::OwnerOnly`]).
//!
//! What the new content should be is the caller's business (an editor); this module only moves
//! bytes, and keeps no journal. Everything here blocks: async callers use `spawn_blocking`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many times [`update`] starts over because the file changed under it.
const ATTEMPTS: usize = 5;
/// A client's lock directory older than this is abandoned (Cline uses the same limit).
const LOCK_STALE: Duration = Duration::from_secs(10);
/// How long to wait for a client's lock directory before giving up.
const LOCK_PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("cannot read {path}: {source}; check that it exists and that you may read it")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot write {path}: {source}; check the permissions of the file and its folder, and free disk space"
    )]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} changed while it was being updated; nothing was written, try again")]
    Changed { path: PathBuf },
    #[error(
        "{path} kept changing while it was being updated ({ATTEMPTS} tries); close the program writing it and try again"
    )]
    KeepsChanging { path: PathBuf },
    #[error(
        "{path} is locked by its client (the lock {lock} is held); close the client or wait, then try again"
    )]
    Locked { path: PathBuf, lock: PathBuf },
}

/// A file as read for an update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The file itself, behind any symlinks: what gets replaced.
    pub real: PathBuf,
    /// Its content, or `None` if it does not exist yet.
    pub bytes: Option<Vec<u8>>,
}

/// Whether the client guards its file with a `<file>.lock` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClientLock {
    #[default]
    None,
    /// Cline's protocol: the writer creates `<file>.lock/` and removes it when done; one older
    /// than ten seconds is abandoned.
    LockDirectory,
}

/// Who may read the file once it is replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Access {
    /// The permissions it had (a new file: its owner only).
    #[default]
    Keep,
    /// Its owner only: group and other permissions are taken off (it is to hold a token).
    OwnerOnly,
}

/// The file at `path`, following symlinks to the file they name.
pub fn read(path: &Path) -> Result<Snapshot, WriteError> {
    let real = real_path(path).map_err(|source| WriteError::Read {
        path: path.to_owned(),
        source,
    })?;
    let bytes = match std::fs::read(&real) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(WriteError::Read { path: real, source }),
    };
    Ok(Snapshot { real, bytes })
}

/// Where a path leads: symlinks resolved one by one, the last one possibly dangling (its
/// target is then the file to create).
pub fn real_path(path: &Path) -> std::io::Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..40 {
        match std::fs::symlink_metadata(&current) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let target = std::fs::read_link(&current)?;
                current = match current.parent() {
                    Some(parent) if target.is_relative() => parent.join(target),
                    _ => target,
                };
            }
            Ok(_) => return Ok(current),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(current),
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("too many levels of symbolic links"))
}

/// Replaces the file behind `snapshot` with `new` (`None`: deletes it), if it still holds
/// what the snapshot saw.
pub fn replace(snapshot: &Snapshot, new: Option<&[u8]>, lock: ClientLock) -> Result<(), WriteError> {
    replace_with(snapshot, new, lock, Access::Keep)
}

/// [`replace`], with the new file's permissions chosen by `access`.
pub fn replace_with(
    snapshot: &Snapshot,
    new: Option<&[u8]>,
    lock: ClientLock,
    access: Access,
) -> Result<(), WriteError> {
    let path = &snapshot.real;
    let _held = match lock {
        ClientLock::LockDirectory => Some(LockDir::acquire(path)?),
        ClientLock::None => None,
    };
    let now = match std::fs::read(path) {
        Ok(bytes) => Some(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => {
            return Err(WriteError::Read {
                path: path.clone(),
                source,
            });
        }
    };
    if now != snapshot.bytes {
        return Err(WriteError::Changed { path: path.clone() });
    }
    let result = match new {
        Some(bytes) => write_atomically(path, bytes, access),
        None => std::fs::remove_file(path).or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }),
    };
    result.map_err(|source| WriteError::Write {
        path: path.clone(),
        source,
    })
}

/// What [`update`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Updated {
    /// The file now holds `after`; it held `before` (`None`: it did not, or does not, exist).
    Written {
        before: Option<Vec<u8>>,
        after: Option<Vec<u8>>,
    },
    /// The edit asked for what was already there.
    Unchanged,
}

/// Reads `path`, asks `edit` what the file should hold (`None`: no file), and writes that
/// unless the file changed meanwhile, in which case it starts over with what is there now.
pub fn update<E>(
    path: &Path,
    lock: ClientLock,
    mut edit: impl FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, E>,
) -> Result<Updated, UpdateError<E>> {
    for _ in 0..ATTEMPTS {
        let snapshot = read(path)?;
        let new = edit(snapshot.bytes.as_deref()).map_err(UpdateError::Edit)?;
        if snapshot.bytes == new {
            return Ok(Updated::Unchanged);
        }
        match replace(&snapshot, new.as_deref(), lock) {
            Ok(()) => {
                return Ok(Updated::Written {
                    before: snapshot.bytes,
                    after: new,
                });
            }
            Err(WriteError::Changed { .. }) => continue,
            Err(other) => return Err(other.into()),
        }
    }
    Err(WriteError::KeepsChanging {
        path: path.to_owned(),
    }
    .into())
}

/// An update that failed: in the file system, or in the caller's edit.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError<E> {
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error(transparent)]
    Edit(E),
}

fn write_atomically(path: &Path, content: &[u8], access: Access) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.exists() {
        create_private_dir(&dir)?;
    }
    let (temp, mut file) = create_temp(path, &dir)?;
    let result = (|| {
        set_mode_like(&file, path, access)?;
        file.write_all(content)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        // The rename itself is durable only once the directory is.
        if let Ok(dir) = std::fs::File::open(&dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

/// The prefix of Switchboard's temporary files beside `path`: `.<name>.switchboard-`.
fn temp_prefix(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{name}.switchboard-")
}

/// A new temporary file beside `path`, named `.<name>.switchboard-<pid>-<n>.tmp`, created new
/// (never one that exists, whoever made it).
fn create_temp(path: &Path, dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let prefix = temp_prefix(path);
    let mut tries = 0;
    loop {
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let n = u64::from(nanos) ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 32);
        let temp = dir.join(format!("{prefix}{}-{n:x}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 16 => tries += 1,
            Err(e) => return Err(e),
        }
    }
}

/// Removes the temporary files a writer that is no longer `alive` (given its process id)
/// left beside `path` (and beside the file it links to); returns those removed. A writer
/// killed between creating its temporary file and renaming it leaves one behind.
pub fn remove_stale_temps(path: &Path, alive: impl Fn(u32) -> bool) -> Vec<PathBuf> {
    let mut places = vec![path.to_owned()];
    if let Ok(real) = real_path(path)
        && real != path
    {
        places.push(real);
    }
    let mut removed = Vec::new();
    for place in places {
        let Some(dir) = place.parent() else { continue };
        let prefix = temp_prefix(&place);
        let Ok(listing) = std::fs::read_dir(dir) else {
            continue;
        };
        for item in listing.flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            let Some(middle) = name.strip_prefix(&prefix).and_then(|m| m.strip_suffix(".tmp")) else {
                continue;
            };
            let pid = middle.split('-').next().and_then(|p| p.parse::<u32>().ok());
            let Some(pid) = pid else { continue };
            let is_file = item.file_type().map(|t| t.is_file()).unwrap_or(false);
            if is_file && !alive(pid) && std::fs::remove_file(item.path()).is_ok() {
                removed.push(item.path());
            }
        }
    }
    removed
}

/// Whether others than its owner may read or write the file at `path` (behind symlinks);
/// `false` when it does not exist, and always off Unix.
pub fn readable_by_others(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .map(|m| m.permissions().mode() & 0o077 != 0)
            .unwrap_or(false)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

/// Takes group and other permissions off the file at `path` (behind symlinks).
pub fn make_owner_only(path: &Path) -> Result<(), WriteError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let failed = |source| WriteError::Write {
            path: path.to_owned(),
            source,
        };
        let mode = std::fs::metadata(path).map_err(failed)?.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7700)).map_err(failed)?;
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(unix)]
fn set_mode_like(file: &std::fs::File, original: &Path, access: Access) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match std::fs::metadata(original) {
        Ok(meta) => meta.permissions().mode() & 0o7777,
        // Configs hold tokens: a new one is the owner's alone.
        Err(_) => 0o600,
    };
    let mode = match access {
        Access::Keep => mode,
        Access::OwnerOnly => mode & 0o7700,
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_mode_like(_file: &std::fs::File, _original: &Path, _access: Access) -> std::io::Result<()> {
    Ok(())
}

/// Creates a directory (and its parents) readable by its owner only.
#[cfg(unix)]
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

#[cfg(not(unix))]
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

/// A client's lock directory, held by us until dropped.
struct LockDir(PathBuf);

impl LockDir {
    fn acquire(path: &Path) -> Result<Self, WriteError> {
        let mut lock = path.as_os_str().to_owned();
        lock.push(".lock");
        let lock = PathBuf::from(lock);
        let deadline = SystemTime::now() + LOCK_PATIENCE;
        let mut created_folder = false;
        loop {
            match std::fs::create_dir(&lock) {
                // The client has not made its settings folder yet: make it, as it would.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && !created_folder => {
                    created_folder = true;
                    if let Some(folder) = lock.parent() {
                        create_private_dir(folder).map_err(|source| WriteError::Write {
                            path: folder.to_owned(),
                            source,
                        })?;
                    }
                }
                Ok(()) => {
                    let _ = std::fs::write(lock.join("owner"), format!("switchboard {}", std::process::id()));
                    return Ok(Self(lock));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let age = std::fs::metadata(&lock)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .unwrap_or_default();
                    if age > LOCK_STALE {
                        let _ = std::fs::remove_dir_all(&lock);
                        continue;
                    }
                    if SystemTime::now() > deadline {
                        return Err(WriteError::Locked {
                            path: path.to_owned(),
                            lock,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(source) => {
                    return Err(WriteError::Write { path: lock, source });
                }
            }
        }
    }
}

impl Drop for LockDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn append(line: &'static str) -> impl FnMut(Option<&[u8]>) -> Result<Option<Vec<u8>>, ()> {
        move |old| {
            let mut new = old.unwrap_or_default().to_vec();
            new.extend_from_slice(line.as_bytes());
            Ok(Some(new))
        }
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o7777
    }

    #[test]
    fn a_new_file_is_private_and_an_existing_one_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("nested/config.json");
        let done = update(&new, ClientLock::None, append("{}")).unwrap();
        assert_eq!(
            done,
            Updated::Written {
                before: None,
                after: Some(b"{}".to_vec())
            }
        );
        assert_eq!(std::fs::read(&new).unwrap(), b"{}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(mode(&new), 0o600);
            assert_eq!(mode(new.parent().unwrap()), 0o700);
            std::fs::set_permissions(&new, std::fs::Permissions::from_mode(0o640)).unwrap();
            update(&new, ClientLock::None, append("\n")).unwrap();
            assert_eq!(mode(&new), 0o640);
        }
        let leftovers: Vec<_> = std::fs::read_dir(new.parent().unwrap()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[cfg(unix)]
    #[test]
    fn a_symlinked_config_stays_a_symlink_and_its_target_changes() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("dotfiles/mcp.json");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        std::fs::write(&target, "{}").unwrap();
        let link = dir.path().join("mcp.json");
        std::os::unix::fs::symlink("dotfiles/mcp.json", &link).unwrap();
        update(&link, ClientLock::None, append(" ")).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"{} ");
    }

    #[test]
    fn a_change_between_read_and_write_is_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "a").unwrap();
        let seen = read(&path).unwrap();
        std::fs::write(&path, "a+theirs").unwrap();
        let error = replace(&seen, Some(b"a+ours"), ClientLock::None).unwrap_err();
        assert!(matches!(error, WriteError::Changed { .. }), "{error}");
        assert_eq!(std::fs::read(&path).unwrap(), b"a+theirs");

        // `update` starts over from their version, so neither change is lost.
        let mut first = true;
        let done = update(&path, ClientLock::None, |old| {
            if std::mem::take(&mut first) {
                std::fs::write(&path, "a+theirs+again").unwrap();
            }
            let mut new = old.unwrap_or_default().to_vec();
            new.extend_from_slice(b"+ours");
            Ok::<_, ()>(Some(new))
        })
        .unwrap();
        assert!(matches!(done, Updated::Written { .. }));
        assert_eq!(std::fs::read(&path).unwrap(), b"a+theirs+again+ours");
    }

    #[test]
    fn an_edit_asking_for_no_file_deletes_it_if_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "ours").unwrap();
        let done = update(&path, ClientLock::None, |_| Ok::<_, ()>(None)).unwrap();
        assert_eq!(
            done,
            Updated::Written {
                before: Some(b"ours".to_vec()),
                after: None
            }
        );
        assert!(!path.exists());
        assert_eq!(
            update(&path, ClientLock::None, |_| Ok::<_, ()>(None)).unwrap(),
            Updated::Unchanged
        );
    }

    #[test]
    fn a_file_that_never_settles_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "0").unwrap();
        let mut n = 0;
        let error = update(&path, ClientLock::None, |_| {
            n += 1;
            std::fs::write(&path, n.to_string()).unwrap();
            Ok::<_, ()>(Some(b"ours".to_vec()))
        })
        .unwrap_err();
        assert!(
            matches!(error, UpdateError::Write(WriteError::KeepsChanging { .. })),
            "{error:?}"
        );
        assert_ne!(std::fs::read(&path).unwrap(), b"ours");
    }

    #[test]
    fn an_edit_that_fails_or_changes_nothing_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "same").unwrap();
        let error = update(&path, ClientLock::None, |_| {
            Err::<Option<Vec<u8>>, _>("cannot parse")
        })
        .unwrap_err();
        assert!(matches!(error, UpdateError::Edit("cannot parse")));
        let done = update(&path, ClientLock::None, |old| {
            Ok::<_, ()>(old.map(<[u8]>::to_vec))
        })
        .unwrap();
        assert_eq!(done, Updated::Unchanged);
        assert_eq!(std::fs::read(&path).unwrap(), b"same");
    }

    #[test]
    fn a_clients_lock_directory_is_waited_for_and_a_stale_one_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cline_mcp_settings.json");
        std::fs::write(&path, "{}").unwrap();
        let lock = dir.path().join("cline_mcp_settings.json.lock");
        std::fs::create_dir(&lock).unwrap();
        let released = lock.clone();
        let client = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(300));
            std::fs::remove_dir(&released).unwrap();
        });
        let started = std::time::Instant::now();
        update(&path, ClientLock::LockDirectory, append(" ")).unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "it waited for the client"
        );
        client.join().unwrap();
        assert!(!lock.exists(), "our own lock is removed");

        std::fs::create_dir(&lock).unwrap();
        let old = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::open(&lock).unwrap().set_modified(old).unwrap();
        update(&path, ClientLock::LockDirectory, append("!")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{} !");
    }

    #[test]
    fn a_clients_missing_settings_folder_is_created_with_its_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".cline/data/settings/cline_mcp_settings.json");
        update(&path, ClientLock::LockDirectory, append("{}")).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"{}");
        assert!(
            !dir.path()
                .join(".cline/data/settings/cline_mcp_settings.json.lock")
                .exists()
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_file_to_hold_a_token_is_made_its_owners_alone() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(readable_by_others(&path));
        let seen = read(&path).unwrap();
        replace_with(
            &seen,
            Some(b"{\"token\": 1}"),
            ClientLock::None,
            Access::OwnerOnly,
        )
        .unwrap();
        assert_eq!(mode(&path), 0o600);
        assert!(!readable_by_others(&path));

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
        make_owner_only(&path).unwrap();
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn temporary_files_of_dead_writers_are_removed_and_only_those() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{}").unwrap();
        let dead = dir.path().join(".config.json.switchboard-4000001-9f.tmp");
        let old_style = dir.path().join(".config.json.switchboard-4000002.tmp");
        let live = dir.path().join(".config.json.switchboard-77-1.tmp");
        let other = dir.path().join(".other.json.switchboard-4000001-1.tmp");
        let users = dir.path().join("config.json.tmp");
        for file in [&dead, &old_style, &live, &other, &users] {
            std::fs::write(file, "partial").unwrap();
        }
        let mut removed = remove_stale_temps(&path, |pid| pid == 77);
        removed.sort();
        assert_eq!(removed, vec![dead.clone(), old_style.clone()]);
        assert!(live.exists() && other.exists() && users.exists());

        // What a write leaves while it runs matches the pattern.
        let (temp, _file) = create_temp(&path, dir.path()).unwrap();
        assert_eq!(remove_stale_temps(&path, |pid| pid == 77), vec![temp]);
    }
}
