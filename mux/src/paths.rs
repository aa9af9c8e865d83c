//! Where the socket and config live, and the safety checks on them.
//!
//! The rules are tmux's: the socket directory `qmux-UID` is created 0700 and,
//! before every use, must be a directory owned by us with no group or other
//! permission bits. Anything else is refused, because the socket is a way into
//! the user's shell.

use std::fs;
use std::io;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The socket path from `-S` or `-L`.
pub fn socket_path(explicit: Option<&Path>, name: Option<&str>) -> Result<PathBuf> {
    if let Some(path) = explicit {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            check_dir(parent, false)?;
        }
        check_socket_owner(path)?;
        return Ok(path.to_path_buf());
    }
    let name = name.unwrap_or("default");
    if name.is_empty() || name.contains('/') {
        return Err(Error::msg(format!("bad socket name {name:?}: use a plain name without '/'")));
    }
    let dir = default_socket_dir();
    match fs::DirBuilder::new().mode(0o700).create(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(Error::msg(format!("cannot create socket directory {}: {e}", dir.display()))),
    }
    check_dir(&dir, true)?;
    Ok(dir.join(name))
}

/// `${QMUX_TMPDIR:-${XDG_RUNTIME_DIR:-/tmp}}/qmux-UID`.
pub fn default_socket_dir() -> PathBuf {
    let base = ["QMUX_TMPDIR", "XDG_RUNTIME_DIR"]
        .iter()
        .filter_map(std::env::var_os)
        .find(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp"));
    base.join(format!("qmux-{}", nix::unistd::getuid()))
}

/// Refuses a directory that is not ours or (when `private`) is open to others.
/// For `-S`, whose parent may be any directory the user chose, it must be
/// ours or root's, and writable by others only with the sticky bit (as
/// /tmp), so nobody else can swap the socket.
pub fn check_dir(dir: &Path, private: bool) -> Result<()> {
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::msg(format!("cannot use {}: {e}", dir.display())))?;
    if !meta.is_dir() {
        return Err(Error::msg(format!("{} is not a directory", dir.display())));
    }
    let uid = nix::unistd::getuid().as_raw();
    let mode = meta.mode();
    let unsafe_perms = if private {
        meta.uid() != uid || mode & 0o077 != 0
    } else {
        (meta.uid() != uid && meta.uid() != 0) || (mode & 0o022 != 0 && mode & 0o1000 == 0)
    };
    if unsafe_perms {
        return Err(Error::msg(format!(
            "directory {} has unsafe permissions (owner {}, mode {:o}); it must be yours and mode 700",
            dir.display(),
            meta.uid(),
            mode & 0o7777
        )));
    }
    Ok(())
}

/// An existing socket at a chosen path must be ours: connecting to another
/// user's server would hand them our keystrokes.
fn check_socket_owner(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.uid() != nix::unistd::getuid().as_raw() => Err(Error::msg(format!(
            "{} belongs to another user (uid {}); refusing to use it",
            path.display(),
            meta.uid()
        ))),
        Ok(meta) if !std::os::unix::fs::FileTypeExt::is_socket(&meta.file_type()) => {
            Err(Error::msg(format!("{} exists and is not a socket", path.display())))
        }
        _ => Ok(()),
    }
}

/// Makes the socket file owner-only.
pub fn restrict_socket(path: &Path) -> io::Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))
}

/// The config file: `-f`, else `$XDG_CONFIG_HOME/qmux/config.toml`.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    Some(xdg_dir("XDG_CONFIG_HOME", ".config")?.join("qmux").join("config.toml"))
}

/// An XDG base directory: `$VAR` if set to an absolute path (the spec says
/// to ignore others), else `$HOME/FALLBACK`.
pub fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(fallback)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chosen_socket_path_must_be_a_safe_place() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        let err = socket_path(Some(&open.join("s")), None).unwrap_err().to_string();
        assert!(err.contains("unsafe permissions"), "{err}");
        fs::set_permissions(&open, fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(socket_path(Some(&open.join("s")), None).is_ok());
        fs::write(open.join("plain"), b"").unwrap();
        let err = socket_path(Some(&open.join("plain")), None).unwrap_err().to_string();
        assert!(err.contains("not a socket"), "{err}");
    }

    #[test]
    fn group_readable_directory_is_refused() {
        let dir = std::env::temp_dir().join(format!("qmux-paths-test-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o750)).unwrap();
        let err = check_dir(&dir, true).unwrap_err().to_string();
        assert!(err.contains("unsafe permissions"), "{err}");
        fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
        assert!(check_dir(&dir, true).is_ok());
        fs::remove_dir_all(&dir).unwrap();
    }
}
