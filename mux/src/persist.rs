//! Saving sessions so they outlive the server, and reading them back.
//!
//! Each session has three files in the state directory, named by a key that
//! is unique across server runs:
//! - `KEY.json`: what to relaunch (name, argv, cwd, env, times, last state),
//!   rewritten whole through a temporary file and a rename, so it is either
//!   the old or the new version, never half of one;
//! - `KEY.history`: one formatted row per line (see [`saved_row`]), append-only. A crash can only
//!   cut the last line short, and a line without its newline is dropped on
//!   load. It is rewritten (atomically) when it grows past twice the history
//!   limit, so it stays bounded;
//! - `KEY.screen`: the last screen, rows as in the history, rewritten
//!   atomically.
//!
//! A file that cannot be read is moved aside (`*.corrupt`), never deleted,
//! and the other sessions still load.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::detect::State;
use crate::error::{Error, Result};

/// Bumped when the saved format changes shape.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SavedSession {
    pub version: u32,
    pub key: String,
    pub name: String,
    pub index: u32,
    pub command: Vec<String>,
    pub cwd: PathBuf,
    pub env: Vec<(String, String)>,
    /// Unix seconds.
    pub created: u64,
    /// Unix seconds of the last save.
    pub saved: u64,
    pub state: State,
    pub exit_code: Option<i32>,
    /// The agent identified in it (its rule set's name).
    #[serde(default)]
    pub agent: Option<String>,
    /// The agent's own id for its conversation, to resume exactly it.
    #[serde(default)]
    pub conversation: Option<String>,
    /// The agent's command line, when the session's command was something
    /// else that started it (a shell): a restore runs the agent.
    #[serde(default)]
    pub agent_argv: Option<Vec<String>>,
    /// Its worktree (`qmux new -w`), which a restore starts it in again.
    #[serde(default)]
    pub worktree: Option<crate::worktree::Worktree>,
}

/// A saved session with its history and last screen, as loaded.
#[derive(Debug, Clone)]
pub struct Saved {
    pub meta: SavedSession,
    pub history: Vec<String>,
    pub screen: Vec<String>,
}

pub struct Store {
    dir: PathBuf,
    behind: Behind,
}

/// Writes to the state directory on a thread of their own, in the order
/// they were asked for: the server formats what to save, and never waits
/// for a disk (each file is synced before it replaces the old one).
#[derive(Default)]
struct Behind {
    queue: std::sync::Mutex<Option<std::sync::mpsc::Sender<Job>>>,
}

type Job = Box<dyn FnOnce() + Send>;

impl Behind {
    /// Queues `job`; runs it here if the writer thread cannot start.
    fn run(&self, job: Job) {
        let Ok(mut queue) = self.queue.lock() else { return job() };
        if queue.is_none() {
            let (tx, rx) = std::sync::mpsc::channel::<Job>();
            let started = std::thread::Builder::new().name("qmux-save".into()).spawn(move || {
                for job in rx {
                    job();
                }
            });
            if started.is_err() {
                drop(queue);
                return job();
            }
            *queue = Some(tx);
        }
        if let Some(Err(e)) = queue.as_ref().map(|q| q.send(job)) {
            (e.0)();
        }
    }

    /// Waits until everything queued so far is written (at most `limit`).
    fn flush(&self, limit: std::time::Duration) {
        let (done, written) = std::sync::mpsc::channel::<()>();
        let barrier: Job = Box::new(move || {
            let _ = done.send(());
        });
        let queued = self.queue.lock().ok().and_then(|q| q.as_ref().map(|q| q.send(barrier)));
        if let Some(Ok(())) = queued {
            let _ = written.recv_timeout(limit);
        }
    }
}

/// Says what could not be saved; the server's log is its standard error.
fn report(what: &Path, result: io::Result<()>) {
    if let Err(e) = result {
        eprintln!("qmux: cannot save {}: {e}", what.display());
    }
}

/// The state directory for a socket: `${XDG_STATE_HOME:-~/.local/state}/qmux/NAME`,
/// NAME being the socket's file name, with a hash of its path added for `-S`
/// sockets outside the usual directory.
pub fn state_dir(socket: &Path) -> Option<PathBuf> {
    let default_socket_dir = socket.parent() == Some(crate::paths::default_socket_dir().as_path());
    let base = crate::paths::xdg_dir("XDG_STATE_HOME", ".local/state")?;
    let name = socket.file_name()?.to_string_lossy().into_owned();
    let name = if default_socket_dir {
        name
    } else {
        // FNV-1a: stable across versions, unlike std's hasher.
        let hash = socket
            .to_string_lossy()
            .bytes()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100000001b3));
        format!("{name}-{hash:016x}")
    };
    Some(base.join("qmux").join(name))
}

/// The saved sessions a target names (all of them with none), by the
/// rules live sessions are named by.
pub fn pick(saved: &[Saved], target: Option<&str>) -> std::result::Result<Vec<usize>, String> {
    let Some(target) = target else { return Ok((0..saved.len()).collect()) };
    let candidates: Vec<crate::target::Candidate<'_>> =
        saved.iter().map(|s| crate::target::Candidate { index: s.meta.index, name: &s.meta.name, id: None }).collect();
    crate::target::find(target, &candidates, "saved session")
}

impl Store {
    /// Opens (creating) the state directory, refusing one that others can
    /// read: it holds the sessions' environments and transcripts.
    pub fn open(dir: PathBuf) -> Result<Store> {
        if let Some(parent) = dir.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::msg(format!("cannot create {}: {e}", parent.display())))?;
        }
        match fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(Error::msg(format!("cannot create state directory {}: {e}", dir.display()))),
        }
        crate::paths::check_dir(&dir, true)?;
        Ok(Store { dir, behind: Behind::default() })
    }

    /// Waits for the writes queued so far: before the server exits, or
    /// anything reads the files back.
    pub fn flush(&self) {
        self.behind.flush(std::time::Duration::from_secs(10));
    }

    /// Writes `bytes` to `path` behind the server's back: replacing it
    /// whole (see [`WriteMode`]), or appending.
    fn write_behind(&self, path: PathBuf, bytes: Vec<u8>, how: WriteMode) {
        self.behind.run(Box::new(move || {
            let result = if how == WriteMode::Append {
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .mode(0o600)
                    .open(&path)
                    .and_then(|mut f| f.write_all(&bytes))
            } else {
                write_atomic(&path, &bytes, how == WriteMode::Replace)
            };
            report(&path, result);
        }));
    }

    /// Hands the heap's free pages back to the system once the writes
    /// queued so far are done (their buffers freed too), on the writing
    /// thread: the walk of the heap takes milliseconds.
    pub fn trim_behind(&self) {
        self.behind.run(Box::new(|| {
            // SAFETY: malloc_trim only releases free memory.
            #[cfg(all(target_os = "linux", target_env = "gnu"))]
            unsafe {
                nix::libc::malloc_trim(0);
            }
        }));
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self, key: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{key}.{ext}"))
    }

    pub fn save_meta(&self, meta: &SavedSession) -> io::Result<()> {
        let json = serde_json::to_vec_pretty(meta).map_err(io::Error::other)?;
        self.write_behind(self.path(&meta.key, "json"), json, WriteMode::Replace);
        Ok(())
    }

    /// Appends rows to the history log; returns nothing, the caller counts.
    pub fn append_history(&self, key: &str, rows: impl Iterator<Item = impl AsRef<str>>) -> io::Result<()> {
        let mut out = Vec::new();
        for row in rows {
            out.extend_from_slice(row.as_ref().as_bytes());
            out.push(b'\n');
        }
        if !out.is_empty() {
            self.write_behind(self.path(key, "history"), out, WriteMode::Append);
        }
        Ok(())
    }

    /// Replaces the history log with exactly these rows.
    pub fn rewrite_history(&self, key: &str, rows: impl Iterator<Item = impl AsRef<str>>) -> io::Result<()> {
        let mut out = Vec::new();
        for row in rows {
            out.extend_from_slice(row.as_ref().as_bytes());
            out.push(b'\n');
        }
        self.write_behind(self.path(key, "history"), out, WriteMode::Replace);
        Ok(())
    }

    pub fn save_screen(&self, key: &str, rows: &[String]) -> io::Result<()> {
        self.write_behind(self.path(key, "screen"), rows.join("\n").into_bytes(), WriteMode::ReplaceOften);
        Ok(())
    }

    /// Keeps the last layout of panes: the layout, as one line of text the
    /// server reads back, then the keys of its sessions, one a line, in
    /// `last.layout`.
    pub fn save_layout(&self, keys: &[String], layout: &str) -> io::Result<()> {
        let mut text = format!("{layout}\n");
        for key in keys {
            text.push_str(key);
            text.push('\n');
        }
        self.write_behind(self.dir.join("last.layout"), text.into_bytes(), WriteMode::Replace);
        Ok(())
    }

    /// The last layout saved: its line and its sessions' keys. A missing
    /// or unreadable file is no layout.
    pub fn load_layout(&self) -> Option<(String, Vec<String>)> {
        self.flush();
        let text = fs::read_to_string(self.dir.join("last.layout")).ok()?;
        let mut lines = text.lines().map(str::to_string);
        let layout = lines.next()?;
        Some((layout, lines.filter(|l| !l.is_empty()).collect()))
    }

    /// Deletes a session's files (it was killed on purpose).
    /// Done when this returns (after the writes queued before it): the
    /// user asked, and may look next.
    pub fn forget(&self, key: &str) {
        self.flush();
        for ext in ["json", "history", "screen"] {
            let _ = fs::remove_file(self.path(key, ext));
        }
    }

    /// Loads every saved session. A file that cannot be read is moved aside
    /// and reported in the second list; the others still load.
    pub fn load_all(&self) -> (Vec<Saved>, Vec<String>) {
        self.flush();
        let mut saved = Vec::new();
        let mut problems = Vec::new();
        let Ok(entries) = fs::read_dir(&self.dir) else { return (saved, problems) };
        let mut metas: Vec<PathBuf> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        metas.sort();
        for path in metas {
            match self.load_one(&path) {
                Ok(s) => saved.push(s),
                Err(why) => {
                    let aside = path.with_extension("json.corrupt");
                    let _ = fs::rename(&path, &aside);
                    problems.push(format!("{}: {why}; moved aside to {}", path.display(), aside.display()));
                }
            }
        }
        saved.sort_by_key(|s| (s.meta.index, s.meta.created));
        (saved, problems)
    }

    fn load_one(&self, path: &Path) -> std::result::Result<Saved, String> {
        let bytes = fs::read(path).map_err(|e| e.to_string())?;
        // Read the version alone first, so a file from another version is
        // named as such rather than as garbage.
        #[derive(Deserialize)]
        struct Version {
            version: u32,
        }
        let v: Version = serde_json::from_slice(&bytes).map_err(|e| format!("not a qmux state file ({e})"))?;
        if v.version != FORMAT_VERSION {
            return Err(format!("saved by another qmux version (format {}, this is {FORMAT_VERSION})", v.version));
        }
        let meta: SavedSession = serde_json::from_slice(&bytes).map_err(|e| format!("damaged state file ({e})"))?;
        let history = read_lines(&self.path(&meta.key, "history"));
        let screen = fs::read_to_string(self.path(&meta.key, "screen"))
            .map(|s| s.split('\n').map(str::to_string).collect())
            .unwrap_or_default();
        Ok(Saved { meta, history, screen })
    }
}

/// A row as the history and screen files keep it: its formatted text, then
/// a carriage return when its line goes on in the next row, so that a
/// restore lays the line out again at the width it is read at. A formatted
/// row never holds one, and a reader that strips it reads each row as a
/// line, as before.
pub fn saved_row(text: &str, wrapped: bool) -> String {
    if wrapped {
        format!("{text}\r")
    } else {
        text.to_string()
    }
}

/// A row of the history or screen file (see [`saved_row`]): its formatted
/// text, and whether its line goes on in the next row.
pub fn read_row(line: &str) -> (&str, bool) {
    line.strip_suffix('\r').map_or((line, false), |text| (text, true))
}

/// Complete lines only: a line cut short by a crash is dropped.
fn read_lines(path: &Path) -> Vec<String> {
    let Ok(bytes) = fs::read(path) else { return Vec::new() };
    let complete = match bytes.iter().rposition(|&b| b == b'\n') {
        Some(i) => &bytes[..i],
        None => return Vec::new(),
    };
    String::from_utf8_lossy(complete).split('\n').map(str::to_string).collect()
}

/// How a file in the state directory is written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum WriteMode {
    /// Added to its end.
    Append,
    /// Replaced whole, the new contents on disk before the rename, so a
    /// power cut leaves the old file or the new one.
    Replace,
    /// Replaced whole without waiting for the disk: a screen, rewritten
    /// every second while its program draws. A server that is killed
    /// still leaves the old file or the new one (the rename is atomic);
    /// only a power cut can lose the last one, and the history log has
    /// the lines.
    ReplaceOften,
}

fn write_atomic(path: &Path, bytes: &[u8], sync: bool) -> io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    {
        let mut f = fs::OpenOptions::new().create(true).truncate(true).write(true).mode(0o600).open(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_data()?;
        }
    }
    fs::rename(&tmp, path)
}

/// How a program is resumed: q keeps one conversation per directory and
/// `--resume` picks it up; kiro-cli and the stand-in chat do the same.
pub fn resume_command(command: &[String], resume_args: Option<&[String]>) -> Vec<String> {
    let Some(args) = resume_args else { return command.to_vec() };
    if args.iter().all(|a| command.contains(a)) {
        return command.to_vec();
    }
    let mut out = command.to_vec();
    out.extend(args.iter().cloned());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("state")).unwrap();
        (dir, store)
    }

    fn meta(key: &str, index: u32) -> SavedSession {
        SavedSession {
            version: FORMAT_VERSION,
            key: key.into(),
            name: format!("s{index}"),
            index,
            command: vec!["qmux-chat".into()],
            cwd: "/tmp".into(),
            env: vec![("A".into(), "1".into())],
            created: 1,
            saved: 2,
            state: State::Waiting,
            exit_code: None,
            agent: None,
            conversation: None,
            agent_argv: None,
            worktree: None,
        }
    }

    #[test]
    fn round_trip() {
        let (_d, store) = store();
        store.save_meta(&meta("k1", 0)).unwrap();
        store.append_history("k1", ["one", "\x1b[31mtwo\x1b[m"].into_iter()).unwrap();
        store.append_history("k1", ["three"].into_iter()).unwrap();
        store.save_screen("k1", &["> hi".into(), "".into()]).unwrap();
        let (saved, problems) = store.load_all();
        assert!(problems.is_empty());
        assert_eq!(saved[0].meta, meta("k1", 0));
        assert_eq!(saved[0].history, vec!["one", "\x1b[31mtwo\x1b[m", "three"]);
        assert_eq!(saved[0].screen, vec!["> hi", ""]);
    }

    #[test]
    fn rows_keep_whether_their_line_goes_on() {
        let (_d, store) = store();
        store.save_meta(&meta("k", 0)).unwrap();
        let rows = [saved_row("a long li", true), saved_row("ne", false), saved_row("", false)];
        store.append_history("k", rows.iter()).unwrap();
        store.save_screen("k", &[saved_row("$ wra", true), saved_row("pped", false)]).unwrap();
        let (saved, _) = store.load_all();
        let history: Vec<_> = saved[0].history.iter().map(|r| read_row(r)).collect();
        assert_eq!(history, [("a long li", true), ("ne", false), ("", false)]);
        let screen: Vec<_> = saved[0].screen.iter().map(|r| read_row(r)).collect();
        assert_eq!(screen, [("$ wra", true), ("pped", false)]);
    }

    #[test]
    fn a_line_cut_short_by_a_crash_is_dropped() {
        let (_d, store) = store();
        store.save_meta(&meta("k", 0)).unwrap();
        fs::write(store.path("k", "history"), b"whole\nhal").unwrap();
        assert_eq!(store.load_all().0[0].history, vec!["whole"]);
    }

    #[test]
    fn a_corrupt_file_is_moved_aside_and_the_others_load() {
        let (_d, store) = store();
        store.save_meta(&meta("a", 0)).unwrap();
        store.save_meta(&meta("c", 2)).unwrap();
        fs::write(store.path("b", "json"), b"{ not json").unwrap();
        let mut other = serde_json::to_value(meta("d", 3)).unwrap();
        other["version"] = 99.into();
        fs::write(store.path("d", "json"), other.to_string()).unwrap();
        let (saved, problems) = store.load_all();
        assert_eq!(saved.iter().map(|s| s.meta.key.as_str()).collect::<Vec<_>>(), vec!["a", "c"]);
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems.iter().any(|p| p.contains("another qmux version")), "{problems:?}");
        assert!(store.path("b", "json.corrupt").exists());
    }

    #[test]
    fn forget_removes_every_file() {
        let (_d, store) = store();
        store.save_meta(&meta("k", 0)).unwrap();
        store.append_history("k", ["x"].into_iter()).unwrap();
        store.forget("k");
        assert!(store.load_all().0.is_empty());
        assert!(!store.path("k", "history").exists());
    }

    #[test]
    fn unsafe_state_directory_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let (_d, store) = store();
        fs::set_permissions(store.dir(), fs::Permissions::from_mode(0o755)).unwrap();
        let err = Store::open(store.dir().to_path_buf()).err().unwrap().to_string();
        assert!(err.contains("unsafe permissions"), "{err}");
    }

    #[test]
    fn resume_adds_the_flag_once() {
        let resume = vec!["--resume".to_string()];
        let cmd = vec!["q".to_string(), "chat".to_string()];
        assert_eq!(resume_command(&cmd, Some(&resume)), vec!["q", "chat", "--resume"]);
        let again = resume_command(&resume_command(&cmd, Some(&resume)), Some(&resume));
        assert_eq!(again, vec!["q", "chat", "--resume"]);
        assert_eq!(resume_command(&["sh".to_string()], None), vec!["sh"]);
    }
}
