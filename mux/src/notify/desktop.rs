//! The `desktop` channel: a notification from the server itself, through
//! the freedesktop notification service on the D-Bus session bus
//! (notify-rust, over zbus). Clicking it shows the session in a client.

use std::sync::atomic::{AtomicUsize, Ordering};

use super::Notice;

/// Notifications whose click is still listened for, each on a thread of
/// its own until it is closed; past this many, new ones are shown without.
const LISTENING_MAX: usize = 16;
static LISTENING: AtomicUsize = AtomicUsize::new(0);

/// Whether a session bus is there to ask: a graphical session (or a test)
/// has one.
pub fn available() -> bool {
    std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty())
        || std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| std::path::Path::new(&d).join("bus").exists())
}

/// Shows `notice` on a thread of its own: `done` hears whether it was
/// shown, `clicked` runs if the user clicks it.
pub fn show(
    notice: Notice,
    replaces: Option<u32>,
    done: impl FnOnce(Result<u32, String>) + Send + 'static,
    clicked: impl FnOnce() + Send + 'static,
) {
    if !available() {
        done(Err("no D-Bus session bus: the desktop channel needs a graphical session".into()));
        return;
    }
    let spawned = std::thread::Builder::new().name("qmux-notify".into()).spawn(move || {
        let mut n = notify_rust::Notification::new();
        n.appname("qmux").summary(&notice.title).body(&notice.body).action("default", "Show");
        n.hint(notify_rust::Hint::Category("im.received".into()));
        if let Some(id) = replaces {
            n.id(id);
        }
        let handle = match n.show() {
            Ok(handle) => handle,
            Err(e) => return done(Err(format!("the desktop notification was not shown: {e}"))),
        };
        done(Ok(handle.id()));
        if LISTENING.fetch_add(1, Ordering::SeqCst) < LISTENING_MAX {
            handle.wait_for_action(|action| {
                if action == "default" || action == "Show" {
                    clicked();
                }
            });
        }
        LISTENING.fetch_sub(1, Ordering::SeqCst);
    });
    if let Err(e) = spawned {
        eprintln!("qmux: cannot show a desktop notification: {e}");
    }
}
