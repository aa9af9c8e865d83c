//! Processes that outlive the session that started them. Killing a session
//! ends its terminal session and everything it started, wrappers that
//! ignore SIGHUP included, as closing a terminal would and more. One kind
//! is spared: a daemon (a process that left the terminal session with a
//! `setsid` of its own) that is the agent's own program, while another
//! session runs the same agent, for that one may be using it. Codex is the
//! case: its first TUI starts `codex app-server --managed-daemon`, every
//! Codex with the same `CODEX_HOME` talks to it, and it does not end when
//! its clients do. Such a daemon ends with the last session of its agent
//! (or with the server), found by the `$QMUX` it inherited; nothing qmux
//! started outlives that.

use std::sync::Arc;

use super::session::Session;
use super::Server;
use crate::rules::RuleSet;

impl Server {
    /// Hangs up a session being killed (taken out of the list already):
    /// everything it started, but the agent's daemons while another
    /// session runs that agent; with the last such session, those too.
    pub(super) fn end_session_processes(&self, session: &mut Session) {
        let rules = session.watch.rules.clone();
        let shared = self.sessions.iter().any(|s| s.running() && s.watch.rules.name == rules.name);
        if shared {
            let ours = |p: &crate::foreground::Process| rules.matcher.matches(&p.argv, &p.exe_name);
            let spared = session.child.detached().into_iter().filter(ours).map(|p| p.pid).collect();
            session.child.end(spared);
        } else {
            session.child.end(Vec::new());
            self.end_daemons(&[rules]);
        }
    }

    /// Ends what qmux started (its `$QMUX` names this server's socket)
    /// that no session's terminal holds any more and that is one of these
    /// agents' programs: the daemons their killed sessions left to the
    /// others, or that outlived a program that exited.
    pub(super) fn end_daemons(&self, agents: &[Arc<RuleSet>]) {
        let prefix = format!("{},", self.socket.display());
        let mut left = crate::foreground::carrying("QMUX", &prefix);
        let me = std::process::id() as i32;
        left.retain(|p| p.pid != me && agents.iter().any(|a| a.matcher.matches(&p.argv, &p.exe_name)));
        if left.is_empty() {
            return;
        }
        let held: Vec<i32> = self
            .sessions
            .iter()
            .filter_map(|s| s.child.pid())
            .flat_map(|leader| crate::foreground::session_members(leader as i32, &[]))
            .collect();
        crate::pty::end_processes(left.into_iter().map(|p| p.pid).filter(|p| !held.contains(p)).collect());
    }
}
