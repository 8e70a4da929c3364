//! A real DNS server for one test: Debian's dnsmasq on a loopback port, answering the TXT
//! records the test publishes (and NXDOMAIN for any other name under `.test`). Publishing
//! restarts it on the same port with the new set of records.
use std::collections::HashSet;
use std::io::{BufRead as _, BufReader};
use std::net::{SocketAddr, TcpListener, UdpSocket};
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
    addresses: Vec<(String, String)>,
    child: Option<Child>,
}

fn dnsmasq() -> &'static str {
    ["/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("dnsmasq is required for the domain tests (apt-get install dnsmasq-base; .ci/test installs it)")
}

/// Ports handed to DNS servers of this test run. They come from below the kernel's
/// ephemeral range (32768 and up), so no `bind(…:0)` elsewhere in the run can take one while
/// its server restarts, and each is checked free for both UDP and TCP (dnsmasq binds both).
static RESERVED: Mutex<Option<HashSet<u16>>> = Mutex::new(None);

fn reserve_port() -> u16 {
    let mut reserved = RESERVED.lock().expect("reserved ports");
    let reserved = reserved.get_or_insert_with(HashSet::new);
    loop {
        let port = rand::Rng::gen_range(&mut rand::thread_rng(), 20_000..32_000);
        if reserved.contains(&port) {
            continue;
        }
        let free = UdpSocket::bind(("127.0.0.1", port)).is_ok()
            && TcpListener::bind(("127.0.0.1", port)).is_ok();
        if free {
            reserved.insert(port);
            return port;
        }
    }
}

impl DnsServer {
    /// A free loopback port; nothing listens until [`DnsServer::start`] or a publish.
    pub fn reserve() -> DnsServer {
        DnsServer {
            addr: SocketAddr::from(([127, 0, 0, 1], reserve_port())),
            state: Mutex::new(Published::default()),
        }
    }

    /// Starts (or restarts) the server with the records published so far.
    pub fn start(&self) {
        let mut state = self.state.lock().expect("dns state");
        let Published {
            records,
            addresses,
            child,
        } = &mut *state;
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
        for (name, ip) in addresses.iter() {
            cmd.arg(format!("--host-record={name},{ip}"));
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

impl DnsServer {
    /// Publishes an address record `name` → `ip` (restarting the server).
    pub fn publish_address(&self, name: &str, ip: &str) {
        self.state
            .lock()
            .expect("dns state")
            .addresses
            .push((name.to_owned(), ip.to_owned()));
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
