//! A real DNS server for one test: Debian's dnsmasq on a loopback port, answering the TXT
//! records the test publishes (and NXDOMAIN for any other name under `.test`). Publishing
//! restarts it on the same port with the new set of records.
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

pub struct DnsServer {
    pub addr: SocketAddr,
    state: Mutex<Published>,
}

/// The records published so far, and the server answering them.
#[derive(Default)]
struct Published {
    records: Vec<(String, String)>,
    child: Option<Child>,
}

fn dnsmasq() -> &'static str {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("dnsmasq is required for the domain tests (apt-get install dnsmasq-base; .ci/test installs it)")
}

impl DnsServer {
    /// A free loopback port; nothing listens until [`DnsServer::start`] or a publish.
    pub fn reserve() -> DnsServer {
        let probe = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port");
        let addr = probe.local_addr().expect("port");
        drop(probe);
        DnsServer {
            addr,
            state: Mutex::new(Published::default()),
        }
    }

    /// Starts (or restarts) the server with the records published so far.
    pub fn start(&self) {
        let mut state = self.state.lock().expect("dns state");
        let Published { records, child } = &mut *state;
        if let Some(mut old) = child.take() {
            let _ = old.kill();
            let _ = old.wait();
        }
        let mut cmd = Command::new(dnsmasq());
        cmd.args([
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            "--pid-file=",
            "--log-facility=-",
            "--local=/test/",
            "--user=root",
            &format!("--port={}", self.addr.port()),
        ]);
        for (name, value) in records.iter() {
            cmd.arg(format!("--txt-record={name},{value}"));
        }
        let mut spawned = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dnsmasq");
        // dnsmasq logs "started" once its sockets are bound; then the log is drained.
        let stderr = spawned.stderr.take().expect("dnsmasq stderr");
        let mut lines = BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.contains("started") => break,
                Some(Ok(line)) => seen.push(line),
                _ => panic!("dnsmasq did not start on {}: {seen:?}", self.addr),
            }
        }
        std::thread::spawn(move || for _ in lines {});
        *child = Some(spawned);
    }

    /// Publishes a TXT record `name` → `value` (restarting the server).
    pub fn publish(&self, name: &str, value: &str) {
        self.state
            .lock()
            .expect("dns state")
            .records
            .push((name.to_owned(), value.to_owned()));
        self.start();
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        if let Ok(mut state) = self.state.lock() {
            if let Some(mut child) = state.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
