//! [`Sshd`]: a real OpenSSH server on 127.0.0.1 for one test, so `--host`
//! runs through the same ssh, keys and login shell a user's would.
//!
//! It runs as the test's own user with its own port, host key and
//! authorized key. The far side's qmux has a world of its own beside the
//! test's (`remote/` under the [`Env`] root: socket directory, XDG
//! directories, HOME), carrying the test's process tag, so the two servers
//! never meet and both are cleaned up.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::procs::TAG_VAR;
use crate::{poll_until, Env, DEFAULT_TIMEOUT};

pub struct Sshd {
    child: Child,
    dir: PathBuf,
    remote: PathBuf,
    /// The test's root directory, which every ssh of the test names.
    root: PathBuf,
}

/// The host aliases the test's ssh config defines.
pub const HOST: &str = "box";
/// The same server, with a key it does not accept.
pub const BAD_KEY_HOST: &str = "badkey";
/// A port nothing listens on.
pub const DOWN_HOST: &str = "down";

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("cannot find a free port").port()
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("cannot run ssh-keygen: install openssh-client (.ci/run does)");
    assert!(status.success(), "ssh-keygen failed");
}

impl Sshd {
    /// Starts sshd for a test and waits until it accepts connections.
    pub fn start(env: &Env) -> Sshd {
        Sshd::start_in(env.root(), Some(&env.vars()[TAG_VAR]))
    }

    /// Starts sshd with its files under `root` (and, with `tag`, marked as
    /// a test's process); waits until it accepts connections.
    pub fn start_in(root: &Path, tag: Option<&str>) -> Sshd {
        let sshd = Path::new("/usr/sbin/sshd");
        assert!(sshd.is_file(), "{} not found: install openssh-server (.ci/run does)", sshd.display());
        let dir = root.join("ssh");
        let remote = root.join("remote");
        for d in [&dir, &remote] {
            fs::create_dir_all(d).expect("cannot create the ssh directories");
        }
        for d in ["sock", "config", "state", "data", "home", "tmp"] {
            fs::create_dir_all(remote.join(d)).expect("cannot create the remote world");
        }
        // Privilege separation wants its directory when sshd runs as root.
        if nix::unistd::getuid().is_root() {
            fs::create_dir_all("/run/sshd").expect("cannot create /run/sshd");
        }
        for key in ["host_key", "id", "stranger"] {
            keygen(&dir.join(key));
        }
        fs::copy(dir.join("id.pub"), dir.join("authorized_keys")).expect("cannot write authorized_keys");
        let user = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten()
            .map(|u| u.name)
            .expect("cannot find this user's name");
        let port = free_port();
        let d = dir.display();
        // The login shell sshd starts reads its dotfiles from HOME: the far
        // side's home, not this user's, whose ~/.bashrc may do anything (a
        // stale `pyenv rehash` lock there hangs every login for a minute).
        let home = remote.join("home");
        let home = home.display();
        fs::write(
            dir.join("sshd_config"),
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nLogLevel ERROR\nSetEnv HOME={home}\n"
            ),
        )
        .expect("cannot write sshd_config");
        let host_key = fs::read_to_string(dir.join("host_key.pub")).expect("cannot read the host key");
        fs::write(dir.join("known_hosts"), format!("[127.0.0.1]:{port} {host_key}")).expect("cannot write known_hosts");
        let down = free_port();
        let host = |alias: &str, port: u16, key: &str| {
            format!(
                "Host {alias}\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  IdentityFile {d}/{key}\n  \
                 IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n  \
                 BatchMode yes\n  ConnectTimeout 5\n"
            )
        };
        fs::write(
            dir.join("ssh_config"),
            [host(HOST, port, "id"), host(BAD_KEY_HOST, port, "stranger"), host(DOWN_HOST, down, "id")].concat(),
        )
        .expect("cannot write ssh_config");
        let log = fs::File::create(dir.join("sshd.log")).expect("cannot create sshd.log");
        let mut cmd = Command::new(sshd);
        cmd.arg("-D").arg("-e").arg("-f").arg(dir.join("sshd_config"));
        if let Some(tag) = tag {
            cmd.env(TAG_VAR, tag);
        }
        let child = cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(log).spawn().expect("cannot start sshd");
        let mut server = Sshd { child, dir, remote, root: root.to_path_buf() };
        let log = server.dir.join("sshd.log");
        let read_log = || fs::read_to_string(&log).unwrap_or_default();
        poll_until(
            DEFAULT_TIMEOUT,
            "sshd to accept connections",
            || {
                if let Ok(Some(status)) = server.child.try_wait() {
                    panic!("sshd exited ({status}): {}", read_log());
                }
                TcpStream::connect(("127.0.0.1", port)).ok()
            },
            read_log,
        );
        server
    }

    /// The ssh config that defines the hosts.
    pub fn ssh_config(&self) -> PathBuf {
        self.dir.join("ssh_config")
    }

    /// The config lines that make `-H box` reach this server and run `qmux`
    /// there with `vars` (NAME=VALUE) in its environment.
    pub fn config_for(&self, vars: &[String], qmux: &Path) -> String {
        format!(
            "ssh-command = [\"ssh\", \"-F\", \"{}\"]\nremote-command = \"env {} {} -f /dev/null\"\n",
            self.ssh_config().display(),
            vars.join(" "),
            qmux.display()
        )
    }

    /// The config lines that make `-H box` reach this server and run the
    /// test's qmux there, in the remote world.
    pub fn config(&self, env: &Env) -> String {
        let r = |d: &str| self.remote.join(d).display().to_string();
        let mut vars: Vec<String> = env
            .vars()
            .iter()
            .filter(|(k, _)| {
                k.starts_with("QMUX_CHAT_") || matches!(k.as_str(), TAG_VAR | "PATH" | "LANG" | "QMUX_LOG")
            })
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        vars.extend([
            format!("QMUX_TMPDIR={}", r("sock")),
            format!("XDG_CONFIG_HOME={}", r("config")),
            format!("XDG_STATE_HOME={}", r("state")),
            format!("XDG_DATA_HOME={}", r("data")),
            format!("HOME={}", r("home")),
            format!("TMPDIR={}", r("tmp")),
        ]);
        self.config_for(&vars, &env.bin("qmux"))
    }

    /// The far side's home directory, where sessions created through
    /// `--host` start.
    pub fn remote_home(&self) -> PathBuf {
        self.remote.join("home")
    }

    /// The far side's socket directory.
    pub fn remote_sockets(&self) -> PathBuf {
        self.remote.join("sock")
    }
}

impl Sshd {
    /// Drops every ssh connection the test's qmux made, as a network
    /// failure would: the ssh clients (and their shared master) die.
    pub fn drop_connections(&self, env: &Env) {
        let tag = &env.vars()[TAG_VAR];
        for pid in crate::procs::tagged(tag) {
            if crate::cmdline(pid).first().is_some_and(|p| p == "ssh" || p.starts_with("ssh:")) {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
        }
    }
}

impl Drop for Sshd {
    /// Ends sshd with the connections it serves, and the test's shared ssh
    /// connections: ssh retitles those `ssh: CONTROL_PATH [mux]`, which
    /// overwrites the environment that carried the test's tag.
    fn drop(&mut self) {
        let mut doomed = vec![self.child.id() as i32];
        let mut i = 0;
        while i < doomed.len() {
            doomed.extend(crate::children_of(doomed[i]));
            i += 1;
        }
        let root = self.root.display().to_string();
        let procs = fs::read_dir("/proc").into_iter().flatten().flatten();
        doomed.extend(procs.filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok()).filter(|pid| {
            let argv = crate::cmdline(*pid);
            argv.first().is_some_and(|a| a.starts_with("ssh")) && argv.iter().any(|a| a.contains(&root))
        }));
        for pid in doomed {
            let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
        let _ = self.child.wait();
    }
}
