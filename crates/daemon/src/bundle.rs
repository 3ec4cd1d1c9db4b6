//! Unpacking an MCP bundle (a zip) into its package directory, within limits.
//!
//! A bundle comes from the internet, so [`unpack`] trusts nothing in it: an entry that would
//! land outside the root is refused, and so is one that unpacks to more than its share of
//! [`Limits`] (in all, per entry, and per compressed byte, so a zip bomb is caught long before
//! the disk fills). Sizes are counted while writing, never taken from the zip's headers. A
//! refused bundle leaves nothing behind. Checking the bundle's hash is the installer's.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// How much a bundle may unpack to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// All entries together.
    pub total: u64,
    /// Any one entry.
    pub entry: u64,
    /// Unpacked bytes per compressed byte of an entry, past `ratio_floor`.
    pub ratio: u64,
    /// Entries up to this size may compress as well as they like (a small file of zeros).
    pub ratio_floor: u64,
}

/// The limits of bundles from a registry: generous for real servers (a bundled node_modules
/// or Python runtime), far below what a bomb within the download limit would write.
pub const LIMITS: Limits = Limits {
    total: 2 << 30,
    entry: 512 << 20,
    ratio: 100,
    ratio_floor: 1 << 20,
};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnpackError {
    #[error("the bundle is not a readable zip ({detail}); ask its publisher for a fixed one")]
    Corrupt { detail: String },
    #[error("the bundle's entry `{entry}` points outside the bundle; it was refused")]
    Escapes { entry: String },
    #[error(
        "the bundle was refused as a possible zip bomb: `{entry}` unpacks to over {limit} bytes ({why}); nothing of it was kept"
    )]
    TooLarge {
        entry: String,
        limit: u64,
        why: &'static str,
    },
    #[error("{doing} {path}: {source}; check free space and permissions of the data directory")]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Unpacks the zip `bytes` into `root`, which must not exist yet; on failure `root` is removed.
pub fn unpack(bytes: &[u8], root: &Path, limits: &Limits) -> Result<(), UnpackError> {
    let result = unpack_all(bytes, root, limits);
    if result.is_err() {
        let _ = std::fs::remove_dir_all(root);
    }
    result
}

fn unpack_all(bytes: &[u8], root: &Path, limits: &Limits) -> Result<(), UnpackError> {
    let corrupt = |e: zip::result::ZipError| UnpackError::Corrupt {
        detail: e.to_string(),
    };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(corrupt)?;
    std::fs::create_dir_all(root).map_err(io("creating", root))?;
    let mut written = 0u64;
    for index in 0..archive.len() {
        let mut file = archive.by_index(index).map_err(corrupt)?;
        let name = file.name().map(|name| name.into_owned()).unwrap_or_default();
        let relative = file
            .enclosed_name()
            .ok_or_else(|| UnpackError::Escapes { entry: name.clone() })?;
        let path = root.join(relative);
        if file.is_dir() {
            std::fs::create_dir_all(&path).map_err(io("creating", &path))?;
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io("creating", parent))?;
        }
        let (limit, why) = entry_limit(limits, written, file.compressed_size());
        let mut out = std::fs::File::create(&path).map_err(io("writing", &path))?;
        let copied = copy(&mut (&mut file).take(limit + 1), &mut out, &name, &path)?;
        if copied > limit {
            return Err(UnpackError::TooLarge {
                entry: name,
                limit,
                why,
            });
        }
        written += copied;
        #[cfg(unix)]
        if let Some(mode) = file.unix_mode() {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode & 0o755))
                .map_err(io("setting the mode of", &path))?;
        }
    }
    Ok(())
}

/// The most the next entry may unpack to, and which limit that is.
fn entry_limit(limits: &Limits, written: u64, compressed: u64) -> (u64, &'static str) {
    let by_ratio = compressed.saturating_mul(limits.ratio).max(limits.ratio_floor);
    [
        (limits.entry, "the limit per file"),
        (
            limits.total.saturating_sub(written),
            "the limit of the whole bundle",
        ),
        (by_ratio, "more than its compressed size allows"),
    ]
    .into_iter()
    .min_by_key(|(limit, _)| *limit)
    .unwrap_or((0, "the limit per file"))
}

fn copy(from: &mut impl Read, to: &mut std::fs::File, entry: &str, path: &Path) -> Result<u64, UnpackError> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut total = 0u64;
    loop {
        let read = match from.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(read) => read,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(UnpackError::Corrupt {
                    detail: format!("reading `{entry}`: {e}"),
                });
            }
        };
        to.write_all(&buf[..read]).map_err(io("writing", path))?;
        total += read as u64;
    }
}

fn io(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> UnpackError {
    let path = path.to_path_buf();
    move |source| UnpackError::Io { doing, path, source }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use zip::write::SimpleFileOptions;

    use super::*;

    /// A zip of `entries` (name, size in bytes of zeros), deflated.
    fn zip_of(entries: &[(&str, usize)]) -> Vec<u8> {
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .large_file(true);
        let zeros = vec![0u8; 1 << 20];
        for (name, size) in entries {
            writer.start_file(*name, options).expect("start");
            let mut left = *size;
            while left > 0 {
                let n = left.min(zeros.len());
                writer.write_all(&zeros[..n]).expect("write");
                left -= n;
            }
        }
        writer.finish().expect("finish").into_inner()
    }

    #[test]
    fn a_zip_bomb_is_refused_and_nothing_is_left() {
        let bomb = zip_of(&[("manifest.json", 10), ("payload.bin", 200 << 20)]);
        assert!(bomb.len() < 1 << 20, "{}", bomb.len());
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("bundle");
        let error = unpack(&bomb, &root, &LIMITS).expect_err("refused");
        assert!(
            matches!(&error, UnpackError::TooLarge { entry, why, .. }
                if entry == "payload.bin" && why.contains("compressed size")),
            "{error:?}"
        );
        assert!(error.to_string().contains("zip bomb"), "{error}");
        assert!(!root.exists(), "the refused bundle left files behind");
    }

    #[test]
    fn each_limit_is_enforced_by_what_is_written() {
        let limits = Limits {
            total: 3000,
            entry: 2000,
            ratio: 1_000_000,
            ratio_floor: 1 << 20,
        };
        let cases: [(&[(&str, usize)], Option<&str>); 4] = [
            (&[("a", 2000), ("b", 1000)], None),
            (&[("a", 2001)], Some("the limit per file")),
            (&[("a", 2000), ("b", 1001)], Some("the limit of the whole bundle")),
            (
                &[("a", 100), ("dir/b", 1900), ("c", 1001)],
                Some("the limit of the whole bundle"),
            ),
        ];
        for (entries, refused) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let root = dir.path().join("bundle");
            let result = unpack(&zip_of(entries), &root, &limits);
            match (refused, result) {
                (None, Ok(())) => assert!(root.join("b").is_file(), "{entries:?}"),
                (Some(limit), Err(UnpackError::TooLarge { why, .. })) => {
                    assert_eq!(why, limit, "{entries:?}");
                    assert!(!root.exists(), "{entries:?}");
                }
                (expected, got) => panic!("{entries:?}: expected {expected:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn small_files_may_compress_well_and_paths_may_not_escape() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("bundle");
        unpack(&zip_of(&[("zeros", 500_000)]), &root, &LIMITS).expect("a small file of zeros is fine");
        assert_eq!(
            std::fs::metadata(root.join("zeros")).expect("meta").len(),
            500_000
        );
        let escape = zip_of(&[("../outside", 10)]);
        let root = dir.path().join("other");
        assert!(matches!(
            unpack(&escape, &root, &LIMITS),
            Err(UnpackError::Escapes { .. })
        ));
        assert!(!dir.path().join("outside").exists() && !root.exists());
    }
}
