//! The data directory's permissions: only the server's user may read it. The directory is
//! `0700` and the database, its WAL and shared-memory files, the outbox and the secret key
//! are `0600` (SQLite gives its WAL and -shm files the database file's own mode).
use std::path::Path;

use anyhow::Context as _;

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("setting the permissions of {}", path.display()))
}

#[cfg(not(unix))]
fn set_mode(_path: &Path, _mode: u32) -> anyhow::Result<()> {
    Ok(())
}

/// Creates `dir` (and its parents) if missing; a directory we create is `0700`.
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.as_os_str().is_empty() || dir.exists() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    set_mode(dir, 0o700)
}

/// Makes an existing file private (`0600`).
pub fn private_file(path: &Path) -> anyhow::Result<()> {
    if path.exists() {
        set_mode(path, 0o600)?;
    }
    Ok(())
}

/// Before SQLite opens `db`: its folder exists (`0700` when we create it), and the file
/// exists with mode `0600` (an empty file is an empty database), so the WAL and -shm files
/// SQLite creates beside it are `0600` too. Files of an older install are tightened.
pub fn prepare_database_file(db: &Path) -> anyhow::Result<()> {
    if db.as_os_str().is_empty() || db.to_string_lossy().starts_with(':') {
        return Ok(());
    }
    if let Some(parent) = db.parent() {
        private_dir(parent)?;
    }
    if !db.exists() {
        let mut open = std::fs::OpenOptions::new();
        open.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
        match open.open(db) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e).with_context(|| format!("creating {}", db.display())),
        }
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        let path = Path::new(&name);
        writable(path)?;
        private_file(path)?;
    }
    Ok(())
}

/// Fails with a message that says what to do when an existing database file cannot be
/// opened for writing: made immutable (`chattr +i`), read-only, on a read-only mount. SQLite
/// writes the database and both its -wal and -shm files; a frozen -shm file in particular
/// (SQLite maps it into memory) would otherwise be found only at the first write, by a crash.
fn writable(path: &Path) -> anyhow::Result<()> {
    if !path.exists() {
        return Ok(());
    }
    match std::fs::OpenOptions::new().write(true).open(path) {
        Ok(_) => Ok(()),
        Err(err) => anyhow::bail!(
            "the database file {} cannot be written ({err}). SQLite writes the database and \
             its -wal and -shm files, so the server cannot start: if the file was made \
             immutable (`lsattr` shows an `i`; undo it with `chattr -i`) or read-only, make it \
             writable again for the server's user, then start the server again",
            path.display()
        ),
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_new_database_is_private() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("data/terminus.db");
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&tmp.path().join("data")), 0o700);
        assert_eq!(mode(&db), 0o600);
    }

    #[test]
    fn a_database_file_that_cannot_be_written_stops_the_start_with_a_message() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("terminus.db");
        std::fs::write(&db, b"").unwrap();
        // A directory cannot be opened for writing, whoever runs the test (root included).
        std::fs::create_dir(tmp.path().join("terminus.db-shm")).unwrap();
        let err = prepare_database_file(&db).unwrap_err().to_string();
        assert!(
            err.contains("terminus.db-shm cannot be written") && err.contains("chattr -i"),
            "{err}"
        );
    }

    #[test]
    fn an_old_database_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let db = tmp.path().join("terminus.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::write(tmp.path().join("terminus.db-wal"), b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        prepare_database_file(&db).unwrap();
        assert_eq!(mode(&db), 0o600);
        assert_eq!(mode(&tmp.path().join("terminus.db-wal")), 0o600);
    }
}
