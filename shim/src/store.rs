//! Conversations saved per directory, the way `q chat` keeps them.
//!
//! `q chat --resume` restores the conversation of the *current directory*, and
//! two sessions in one directory overwrite each other's slot. qmux has to cope
//! with exactly that, so the stand-in keeps one file per canonical working
//! directory: `<data dir>/<fnv1a of the path, hex>.json`. Files are replaced
//! atomically (temp file + rename), so a reader never sees half a file even
//! when two sessions save at once; the last writer wins, as with `q`.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::fnv1a;

/// The on-disk format version. A file with any other version is treated as
/// unreadable rather than guessed at.
const FORMAT_VERSION: u32 = 1;

/// Who said a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    User,
    Assistant,
}

/// One message of a conversation, as it was shown on the screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub role: Role,
    pub text: String,
}

/// The messages of one directory's conversation, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Conversation {
    pub messages: Vec<Message>,
}

impl Conversation {
    pub fn push(&mut self, role: Role, text: impl Into<String>) {
        self.messages.push(Message { role, text: text.into() });
    }

    pub fn clear(&mut self) {
        self.messages.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// The file as stored. It carries the directory it belongs to, so a hash
/// collision reads as "nothing saved here" instead of someone else's chat.
#[derive(Serialize, Deserialize)]
struct SavedConversation {
    version: u32,
    cwd: String,
    messages: Vec<Message>,
}

/// Why a saved conversation could not be loaded.
#[derive(Debug)]
pub enum LoadError {
    /// The file exists but could not be read.
    Io(PathBuf, io::Error),
    /// The file was read but is not a conversation this program wrote.
    Corrupt(PathBuf, String),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io(path, err) => write!(f, "cannot read {}: {err}", path.display()),
            Self::Corrupt(path, why) => {
                write!(f, "{} is not a saved conversation ({why})", path.display())
            }
        }
    }
}

/// The data directory that holds every saved conversation.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens the data directory, creating it if needed, and checks that it can
    /// be read, so a bad `--data-dir` fails at startup rather than after the
    /// first reply.
    pub fn open(dir: &Path) -> Result<Self, String> {
        fs::create_dir_all(dir).map_err(|err| format!("cannot create data directory {}: {err}", dir.display()))?;
        fs::read_dir(dir).map_err(|err| format!("cannot read data directory {}: {err}", dir.display()))?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// Where the conversation for `cwd` lives. `cwd` should already be
    /// canonical, so that every spelling of a directory shares one slot.
    pub fn path_for(&self, cwd: &Path) -> PathBuf {
        self.dir.join(format!("{:016x}.json", fnv1a(path_bytes(cwd).as_ref())))
    }

    /// The conversation saved for `cwd`, or `None` if there is none.
    pub fn load(&self, cwd: &Path) -> Result<Option<Conversation>, LoadError> {
        let path = self.path_for(cwd);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(LoadError::Io(path, err)),
        };
        let saved: SavedConversation =
            serde_json::from_str(&text).map_err(|err| LoadError::Corrupt(path.clone(), err.to_string()))?;
        if saved.version != FORMAT_VERSION {
            let why = format!("format version {}", saved.version);
            return Err(LoadError::Corrupt(path, why));
        }
        if saved.cwd != cwd.to_string_lossy() {
            return Ok(None);
        }
        Ok(Some(Conversation { messages: saved.messages }))
    }

    /// Replaces the conversation saved for `cwd`.
    pub fn save(&self, cwd: &Path, conversation: &Conversation) -> io::Result<()> {
        let saved = SavedConversation {
            version: FORMAT_VERSION,
            cwd: cwd.to_string_lossy().into_owned(),
            messages: conversation.messages.clone(),
        };
        let json = serde_json::to_vec_pretty(&saved).map_err(io::Error::other)?;
        let path = self.path_for(cwd);
        // The temp name is unique per process, so two sessions saving the same
        // slot never write into one temp file.
        let temp = path.with_extension(format!("json.tmp.{}", std::process::id()));
        let written = fs::File::create(&temp).and_then(|mut file| {
            file.write_all(&json)?;
            file.write_all(b"\n")?;
            file.sync_all()
        });
        match written.and_then(|()| fs::rename(&temp, &path)) {
            Ok(()) => Ok(()),
            Err(err) => {
                let _ = fs::remove_file(&temp);
                Err(err)
            }
        }
    }
}

/// The raw bytes of a path, so non-UTF-8 directories still hash stably.
fn path_bytes(path: &Path) -> std::borrow::Cow<'_, [u8]> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        std::borrow::Cow::Borrowed(path.as_os_str().as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::borrow::Cow::Owned(path.to_string_lossy().into_owned().into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> Self {
            let dir = std::env::temp_dir().join(format!("qmux-chat-test-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            Self(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    fn sample() -> Conversation {
        let mut conversation = Conversation::default();
        conversation.push(Role::User, "hello\nthere");
        conversation.push(Role::Assistant, "You said (2 lines): hello ...");
        conversation
    }

    #[test]
    fn round_trip() {
        let temp = TempDir::new("round-trip");
        let store = Store::open(&temp.0.join("data")).unwrap();
        let cwd = Path::new("/some/project");
        assert_eq!(store.load(cwd).unwrap(), None);
        store.save(cwd, &sample()).unwrap();
        assert_eq!(store.load(cwd).unwrap(), Some(sample()));
        assert_eq!(store.load(Path::new("/other/project")).unwrap(), None);
    }

    #[test]
    fn save_replaces_and_leaves_no_temp_files() {
        let temp = TempDir::new("replace");
        let store = Store::open(&temp.0).unwrap();
        let cwd = Path::new("/some/project");
        store.save(cwd, &sample()).unwrap();
        store.save(cwd, &Conversation::default()).unwrap();
        assert_eq!(store.load(cwd).unwrap(), Some(Conversation::default()));
        let names: Vec<_> = fs::read_dir(&temp.0).unwrap().map(|entry| entry.unwrap().file_name()).collect();
        assert_eq!(names.len(), 1, "{names:?}");
    }

    #[test]
    fn corrupt_file_is_an_error_not_a_panic() {
        let temp = TempDir::new("corrupt");
        let store = Store::open(&temp.0).unwrap();
        let cwd = Path::new("/some/project");
        fs::write(store.path_for(cwd), "{ not json").unwrap();
        assert!(matches!(store.load(cwd), Err(LoadError::Corrupt(..))));

        let wrong_version = r#"{"version": 99, "cwd": "/some/project", "messages": []}"#;
        fs::write(store.path_for(cwd), wrong_version).unwrap();
        assert!(matches!(store.load(cwd), Err(LoadError::Corrupt(..))));
    }

    #[test]
    fn file_name_is_the_hex_hash_of_the_directory() {
        let store = Store { dir: PathBuf::from("/data") };
        let name = format!("{:016x}.json", fnv1a(b"/some/project"));
        assert_eq!(store.path_for(Path::new("/some/project")), Path::new("/data").join(name));
    }
}
