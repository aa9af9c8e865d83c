//! A private D-Bus session bus (the real `dbus-daemon`) with a stand-in
//! for the desktop's notification server on it, which records every
//! `Notify` call and can click a notification (the `ActionInvoked`
//! signal), as a user would.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc, Mutex};

use zbus::object_server::SignalEmitter;

/// One `Notify` call as the server got it.
#[derive(Debug, Clone)]
pub struct Shown {
    pub id: u32,
    pub app: String,
    pub replaces: u32,
    pub summary: String,
    pub body: String,
    pub actions: Vec<String>,
}

struct Stand {
    shown: Arc<Mutex<Vec<Shown>>>,
}

#[zbus::interface(name = "org.freedesktop.Notifications")]
impl Stand {
    #[allow(clippy::too_many_arguments)]
    fn notify(
        &self,
        app_name: String,
        replaces_id: u32,
        _app_icon: String,
        summary: String,
        body: String,
        actions: Vec<String>,
        _hints: HashMap<String, zbus::OwnedVariant>,
        _expire_timeout: i32,
    ) -> u32 {
        let mut shown = self.shown.lock().unwrap();
        let id = if replaces_id != 0 { replaces_id } else { shown.len() as u32 + 1 };
        shown.push(Shown { id, app: app_name, replaces: replaces_id, summary, body, actions });
        id
    }

    fn close_notification(&self, _id: u32) {}

    fn get_capabilities(&self) -> Vec<String> {
        vec!["actions".into(), "body".into()]
    }

    fn get_server_information(&self) -> (String, String, String, String) {
        ("qmux-tests".into(), "qmux".into(), "1".into(), "1.2".into())
    }

    #[zbus(signal)]
    async fn action_invoked(emitter: &SignalEmitter<'_>, id: u32, action_key: &str) -> zbus::Result<()>;
}

/// The bus and the stand-in; both end when this is dropped.
pub struct Notifyd {
    daemon: Child,
    /// `DBUS_SESSION_BUS_ADDRESS` for the programs that should use it.
    pub address: String,
    shown: Arc<Mutex<Vec<Shown>>>,
    conn: zbus::Connection,
}

impl Notifyd {
    /// Starts `dbus-daemon --session` on a socket in `dir`, and the
    /// stand-in on it.
    pub fn start(dir: &Path) -> Notifyd {
        let socket = dir.join("bus");
        let address = format!("unix:path={}", socket.display());
        let daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", &format!("--address={address}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon runs (apt-get install dbus-daemon)");
        crate::poll_until(
            crate::DEFAULT_TIMEOUT,
            "the session bus's socket",
            || socket.exists().then_some(()),
            || format!("no {}", socket.display()),
        );
        let shown = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready) = mpsc::channel::<Result<zbus::Connection, String>>();
        let stand = Stand { shown: shown.clone() };
        let bus = address.clone();
        // The connection's tasks run on this thread for as long as the
        // test does; clicks are signals sent from the test's own.
        std::thread::spawn(move || {
            zbus::block_on(async move {
                let built = zbus::connection::Builder::address(bus.as_str())
                    .name("org.freedesktop.Notifications")
                    .serve_at("/org/freedesktop/Notifications", stand)
                    .build()
                    .await;
                let _ = ready_tx.send(built.map_err(|e| e.to_string()));
                std::future::pending::<()>().await
            })
        });
        let conn =
            ready.recv().expect("the stand-in's thread").expect("the stand-in notification server is on the bus");
        Notifyd { daemon, address, shown, conn }
    }

    /// Every notification shown so far.
    pub fn shown(&self) -> Vec<Shown> {
        self.shown.lock().unwrap().clone()
    }

    /// Clicks notification `id`, as the user would.
    pub fn click(&self, id: u32) {
        zbus::block_on(async {
            let iface = self.conn.object_server().interface::<_, Stand>("/org/freedesktop/Notifications").await?;
            Stand::action_invoked(iface.signal_emitter(), id, "default").await
        })
        .expect("the click is signalled on the bus");
    }
}

impl Drop for Notifyd {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}
