//! Configuration: defaults, then an optional `terminus.toml`, then environment variables.
use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use app::domain::floods::FloodPolicy;
use app::plans::{PlanLimits, Plans};
use app::SignUpPolicy;

use anyhow::{bail, Context as _};
use serde::Deserialize;

/// The process configuration. `Debug` hides the SMTP URL (it may carry a password).
#[derive(Clone)]
pub struct Config {
    pub database_url: String,
    pub addr: SocketAddr,
    /// Absolute base for links in emails; `None` means `http://{addr}`.
    pub public_url: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Where mail goes when no SMTP server is configured.
    pub outbox_dir: PathBuf,
    /// `None`: secure unless the public URL is plain-http localhost.
    pub cookie_secure: Option<bool>,
    pub trusted_proxies: Vec<IpAddr>,
    pub db_max_connections: u32,
    /// Concurrent argon2 hashes; `None` means one per CPU.
    pub hash_permits: Option<usize>,
    /// Niceness of the hashing threads (Linux; 0–19, 0 = same as the rest): below the
    /// API's, so a sign-in flood slows sign-ins before it slows API requests.
    pub hash_nice: i32,
    /// The hashing threads run under `SCHED_IDLE` (Linux): only on CPU time nobody else
    /// wants, so API requests and pages never wait behind a hash.
    pub hash_sched_idle: bool,
    /// Serves `/_bench/…` comparison routes without authentication. Only for the benchmark:
    /// a build without `--features bench` has neither the setting nor the routes.
    #[cfg(feature = "bench")]
    pub bench_routes: bool,
    /// The key sealing SSO client secrets (base64, 32 bytes). Every instance needs the same.
    pub secret_key: Option<String>,
    /// Without `secret_key`: where a key is kept, generated at first start (development).
    pub secret_key_file: PathBuf,
    /// Nameservers for domain verification (`ip:port`); empty: the system's (resolv.conf).
    pub dns_servers: Vec<SocketAddr>,
    /// Lets SSO issuers live on private networks (an in-house provider).
    pub sso_allow_private_issuers: bool,
    /// Invitations an account may send in a day.
    pub invitations_per_day: u32,
    /// Limits per client network, recipient domain and person on what sends mail.
    pub floods: FloodPolicy,
    /// Who may sign up: anyone, or only people invited (and users the operator creates).
    pub signup: SignUpPolicy,
    /// Plans from the file (`[plans.NAME]`), added to or replacing the built-in ones.
    pub plans: BTreeMap<String, PlanLimits>,
    /// The plan new accounts get (and accounts whose plan is not defined); `None`: "free".
    pub default_plan: Option<String>,
    /// Where Prometheus metrics are served (a listener of their own); `None`: not at all.
    pub metrics_addr: Option<SocketAddr>,
    /// `redis://…`: the per-account rate limits live in Redis (or Valkey), shared by every
    /// instance; `None`: in each instance's memory.
    pub rate_limit_url: Option<String>,
    /// `text` (default) or `json`, one object a line.
    pub log_format: LogFormat,
    /// A request's head must arrive within this (idle keep-alive connections close too).
    pub header_timeout: Duration,
    /// A request must be answered within this, or it gets 408.
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the accept queue.
    pub max_connections: usize,
    /// Audit events older than this many days are deleted once a day; `None`: kept forever.
    pub audit_retention_days: Option<u32>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl LogFormat {
    pub fn parse(value: &str) -> Option<Self> {
        match value.trim() {
            "text" => Some(Self::Text),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// A plan as `terminus.toml` writes it: `[plans.NAME] per_minute = 600, burst = 100`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct FilePlan {
    per_minute: u32,
    burst: u32,
}

impl fmt::Debug for Config {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Config")
            .field("database_url", &redact_url(&self.database_url))
            .field("addr", &self.addr)
            .field("public_url", &self.public_url)
            .field("smtp", &self.smtp_url.as_deref().map(redact_url))
            .field("mail_from", &self.mail_from)
            .field("outbox_dir", &self.outbox_dir)
            .field("cookie_secure", &self.cookie_secure)
            .field("trusted_proxies", &self.trusted_proxies)
            .field("db_max_connections", &self.db_max_connections)
            .field("hash_permits", &self.hash_permits)
            .field("hash_nice", &self.hash_nice)
            .field("hash_sched_idle", &self.hash_sched_idle)
            .field(
                "secret_key",
                &self.secret_key.as_ref().map(|_| "[redacted]"),
            )
            .field("secret_key_file", &self.secret_key_file)
            .field("dns_servers", &self.dns_servers)
            .field("sso_allow_private_issuers", &self.sso_allow_private_issuers)
            .field("invitations_per_day", &self.invitations_per_day)
            .field("floods", &self.floods)
            .field("signup", &self.signup)
            .field("plans", &self.plans)
            .field("default_plan", &self.default_plan)
            .field("metrics_addr", &self.metrics_addr)
            .field(
                "rate_limit_url",
                &self.rate_limit_url.as_deref().map(redact_url),
            )
            .field("log_format", &self.log_format)
            .field("header_timeout", &self.header_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_connections", &self.max_connections)
            .field("audit_retention_days", &self.audit_retention_days)
            .finish()
    }
}

impl Config {
    /// The effective configuration, one `(setting, value)` a line, secrets redacted (the
    /// database's and SMTP server's passwords, the sealing key): what `config check` prints
    /// and the server logs at start.
    pub fn effective(&self) -> Vec<(&'static str, String)> {
        let list = |items: Vec<String>| {
            if items.is_empty() {
                "(none)".to_owned()
            } else {
                items.join(", ")
            }
        };
        let unset = || "(unset)".to_owned();
        let plans = self
            .plan_table()
            .map(|plans| {
                plans
                    .iter()
                    .map(|(name, limits)| {
                        format!("{name} {}/min burst {}", limits.per_minute, limits.burst)
                    })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let floods = &self.floods;
        vec![
            ("database_url", redact_url(&self.database_url)),
            ("addr", self.addr.to_string()),
            ("public_url", self.public_url_for(self.addr)),
            (
                "smtp_url",
                self.smtp_url
                    .as_deref()
                    .map_or_else(|| "(unset: mail goes to the outbox)".to_owned(), redact_url),
            ),
            ("mail_from", self.sender()),
            ("outbox_dir", self.outbox_dir.display().to_string()),
            (
                "cookie_secure",
                self.cookie_secure_for(&self.public_url_for(self.addr))
                    .to_string(),
            ),
            (
                "trusted_proxies",
                list(
                    self.trusted_proxies
                        .iter()
                        .map(ToString::to_string)
                        .collect(),
                ),
            ),
            ("db_max_connections", self.db_max_connections.to_string()),
            (
                "hash_permits",
                self.hash_permits
                    .map_or_else(|| "(one per CPU)".to_owned(), |n| n.to_string()),
            ),
            ("hash_nice", self.hash_nice.to_string()),
            ("hash_sched_idle", self.hash_sched_idle.to_string()),
            (
                "secret_key",
                match &self.secret_key {
                    Some(_) => "[redacted] (TERMINUS_SECRET_KEY)".to_owned(),
                    None => format!("(from {})", self.secret_key_file.display()),
                },
            ),
            (
                "secret_key_file",
                self.secret_key_file.display().to_string(),
            ),
            (
                "dns_servers",
                list(self.dns_servers.iter().map(ToString::to_string).collect()),
            ),
            (
                "sso_allow_private_issuers",
                self.sso_allow_private_issuers.to_string(),
            ),
            ("invitations_per_day", self.invitations_per_day.to_string()),
            (
                "requests_per_ip_per_hour",
                floods.requests_per_ip_per_hour.to_string(),
            ),
            (
                "confirm_mails_per_domain_per_hour",
                floods.confirm_mails_per_domain_per_hour.to_string(),
            ),
            (
                "invitations_per_person_per_day",
                floods.invitations_per_person_per_day.to_string(),
            ),
            (
                "accounts_per_person_per_day",
                floods.accounts_per_person_per_day.to_string(),
            ),
            ("signup", format!("{:?}", self.signup).to_lowercase()),
            ("plans", list(plans)),
            (
                "default_plan",
                self.default_plan
                    .clone()
                    .unwrap_or_else(|| "free".to_owned()),
            ),
            (
                "metrics_addr",
                self.metrics_addr
                    .map_or_else(|| "(unset: no metrics)".to_owned(), |a| a.to_string()),
            ),
            (
                "log_format",
                format!("{:?}", self.log_format).to_lowercase(),
            ),
            (
                "header_timeout_secs",
                self.header_timeout.as_secs().to_string(),
            ),
            (
                "request_timeout_secs",
                self.request_timeout.as_secs().to_string(),
            ),
            ("max_connections", self.max_connections.to_string()),
            (
                "audit_retention_days",
                self.audit_retention_days
                    .map_or_else(|| "(unset: kept forever)".to_owned(), |d| d.to_string()),
            ),
        ]
        .into_iter()
        .map(|(name, value)| (name, if value.is_empty() { unset() } else { value }))
        .collect()
    }
}

/// Drops the `user:password@` part of a URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            format!("{}://[redacted]@{}", &url[..scheme_end], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: "sqlite://data/terminus.db".into(),
            addr: SocketAddr::from(([127, 0, 0, 1], 3000)),
            public_url: None,
            smtp_url: None,
            // Empty: derived from the public URL's host (`Config::sender`).
            mail_from: String::new(),
            outbox_dir: PathBuf::from("data/outbox"),
            cookie_secure: None,
            trusted_proxies: Vec::new(),
            db_max_connections: 10,
            hash_permits: None,
            hash_nice: 10,
            hash_sched_idle: true,
            #[cfg(feature = "bench")]
            bench_routes: false,
            secret_key: None,
            secret_key_file: PathBuf::from("data/secret.key"),
            dns_servers: Vec::new(),
            sso_allow_private_issuers: false,
            invitations_per_day: 50,
            floods: FloodPolicy::default(),
            signup: SignUpPolicy::Open,
            plans: BTreeMap::new(),
            default_plan: None,
            metrics_addr: None,
            rate_limit_url: None,
            log_format: LogFormat::Text,
            header_timeout: Duration::from_secs(20),
            request_timeout: Duration::from_secs(60),
            max_connections: 1024,
            audit_retention_days: None,
        }
    }
}

/// The shape of `terminus.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    database_url: Option<String>,
    addr: Option<SocketAddr>,
    public_url: Option<String>,
    smtp_url: Option<String>,
    mail_from: Option<String>,
    outbox_dir: Option<PathBuf>,
    cookie_secure: Option<bool>,
    trusted_proxies: Option<Vec<IpAddr>>,
    db_max_connections: Option<u32>,
    hash_permits: Option<usize>,
    hash_nice: Option<i32>,
    hash_sched_idle: Option<bool>,
    secret_key: Option<String>,
    secret_key_file: Option<PathBuf>,
    dns_servers: Option<Vec<SocketAddr>>,
    sso_allow_private_issuers: Option<bool>,
    invitations_per_day: Option<u32>,
    requests_per_ip_per_hour: Option<u32>,
    passkey_sign_ins_per_ip_per_hour: Option<u32>,
    confirm_mails_per_domain_per_hour: Option<u32>,
    invitations_per_person_per_day: Option<u32>,
    accounts_per_person_per_day: Option<u32>,
    signup: Option<String>,
    plans: Option<BTreeMap<String, FilePlan>>,
    default_plan: Option<String>,
    metrics_addr: Option<SocketAddr>,
    rate_limit_url: Option<String>,
    log_format: Option<LogFormat>,
    header_timeout_secs: Option<u64>,
    request_timeout_secs: Option<u64>,
    max_connections: Option<usize>,
    audit_retention_days: Option<u32>,
}

impl Config {
    /// Defaults ← `terminus.toml` (or the file named by `TERMINUS_CONFIG`) ← environment.
    pub fn load() -> anyhow::Result<Self> {
        let mut config = Config::default();
        let explicit = std::env::var("TERMINUS_CONFIG").ok();
        let path = explicit.clone().unwrap_or_else(|| "terminus.toml".into());
        if Path::new(&path).exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
            config.apply_file(toml::from_str(&text).with_context(|| format!("parsing {path}"))?)?;
        } else if explicit.is_some() {
            bail!("TERMINUS_CONFIG names {path}, which does not exist");
        }
        config.apply_env(|name| std::env::var(name).ok())?;
        config.validate()?;
        Ok(config)
    }

    /// The checks a configuration must pass before anything starts.
    pub fn validate(&self) -> anyhow::Result<()> {
        if !(0..=19).contains(&self.hash_nice) {
            bail!(
                "hash_nice (TERMINUS_HASH_NICE) must be from 0 to 19, got {}",
                self.hash_nice
            );
        }
        self.plan_table()?;
        for (name, value) in [
            (
                "header_timeout_secs (TERMINUS_HEADER_TIMEOUT_SECS)",
                self.header_timeout,
            ),
            (
                "request_timeout_secs (TERMINUS_REQUEST_TIMEOUT_SECS)",
                self.request_timeout,
            ),
        ] {
            if value.is_zero() {
                bail!("{name} must be at least 1");
            }
        }
        if self.max_connections == 0 {
            bail!("max_connections (TERMINUS_MAX_CONNECTIONS) must be at least 1");
        }
        if let Some(url) = &self.rate_limit_url {
            if !url.starts_with("redis://") || redis::Client::open(url.as_str()).is_err() {
                bail!(
                    "rate_limit_url (TERMINUS_RATE_LIMIT_URL) must be a redis:// URL, like redis://127.0.0.1:6379/0, got {}",
                    redact_url(url)
                );
            }
        }
        if self.audit_retention_days == Some(0) {
            bail!(
                "audit_retention_days (TERMINUS_AUDIT_RETENTION_DAYS) must be at least 1; leave it out to keep the audit trail forever"
            );
        }
        Ok(())
    }

    /// The plans in force: the built-ins with the file's `[plans.NAME]`, and the default.
    pub fn plan_table(&self) -> anyhow::Result<Plans> {
        Plans::new(
            self.plans.iter().map(|(n, l)| (n.clone(), *l)),
            self.default_plan.clone(),
        )
        .context(
            "the plans in terminus.toml ([plans.NAME] and default_plan / TERMINUS_DEFAULT_PLAN)",
        )
    }

    fn apply_file(&mut self, file: FileConfig) -> anyhow::Result<()> {
        let FileConfig {
            database_url,
            addr,
            public_url,
            smtp_url,
            mail_from,
            outbox_dir,
            cookie_secure,
            trusted_proxies,
            db_max_connections,
            hash_permits,
            hash_nice,
            hash_sched_idle,
            secret_key,
            secret_key_file,
            dns_servers,
            sso_allow_private_issuers,
            invitations_per_day,
            requests_per_ip_per_hour,
            passkey_sign_ins_per_ip_per_hour,
            confirm_mails_per_domain_per_hour,
            invitations_per_person_per_day,
            accounts_per_person_per_day,
            signup,
            plans,
            default_plan,
            metrics_addr,
            rate_limit_url,
            log_format,
            header_timeout_secs,
            request_timeout_secs,
            max_connections,
            audit_retention_days,
        } = file;
        self.audit_retention_days = audit_retention_days.or(self.audit_retention_days);
        if let Some(v) = signup {
            self.signup = SignUpPolicy::parse(&v)
                .with_context(|| format!("signup = {v:?}: use \"open\" or \"invite_only\""))?;
        }
        if let Some(v) = plans {
            self.plans = v
                .into_iter()
                .map(|(name, p)| {
                    (
                        name,
                        PlanLimits {
                            per_minute: p.per_minute,
                            burst: p.burst,
                        },
                    )
                })
                .collect();
        }
        self.default_plan = default_plan.or(self.default_plan.take());
        self.metrics_addr = metrics_addr.or(self.metrics_addr);
        self.rate_limit_url = rate_limit_url.or(self.rate_limit_url.take());
        if let Some(v) = log_format {
            self.log_format = v;
        }
        if let Some(v) = header_timeout_secs {
            self.header_timeout = Duration::from_secs(v);
        }
        if let Some(v) = request_timeout_secs {
            self.request_timeout = Duration::from_secs(v);
        }
        if let Some(v) = max_connections {
            self.max_connections = v;
        }
        if let Some(v) = dns_servers {
            self.dns_servers = v;
        }
        if let Some(v) = sso_allow_private_issuers {
            self.sso_allow_private_issuers = v;
        }
        if let Some(v) = invitations_per_day {
            self.invitations_per_day = v;
        }
        let floods = &mut self.floods;
        for (value, setting) in [
            (
                requests_per_ip_per_hour,
                &mut floods.requests_per_ip_per_hour,
            ),
            (
                passkey_sign_ins_per_ip_per_hour,
                &mut floods.passkey_sign_ins_per_ip_per_hour,
            ),
            (
                confirm_mails_per_domain_per_hour,
                &mut floods.confirm_mails_per_domain_per_hour,
            ),
            (
                invitations_per_person_per_day,
                &mut floods.invitations_per_person_per_day,
            ),
            (
                accounts_per_person_per_day,
                &mut floods.accounts_per_person_per_day,
            ),
        ] {
            if let Some(v) = value {
                *setting = v;
            }
        }
        if let Some(v) = database_url {
            self.database_url = v;
        }
        if let Some(v) = addr {
            self.addr = v;
        }
        self.public_url = public_url.or(self.public_url.take());
        self.smtp_url = smtp_url.or(self.smtp_url.take());
        if let Some(v) = mail_from {
            self.mail_from = v;
        }
        if let Some(v) = outbox_dir {
            self.outbox_dir = v;
        }
        self.cookie_secure = cookie_secure.or(self.cookie_secure);
        if let Some(v) = trusted_proxies {
            self.trusted_proxies = v;
        }
        if let Some(v) = db_max_connections {
            self.db_max_connections = v;
        }
        self.hash_permits = hash_permits.or(self.hash_permits);
        if let Some(v) = hash_nice {
            self.hash_nice = v;
        }
        if let Some(v) = hash_sched_idle {
            self.hash_sched_idle = v;
        }
        self.secret_key = secret_key.or(self.secret_key.take());
        if let Some(v) = secret_key_file {
            self.secret_key_file = v;
        }
        Ok(())
    }

    fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = non_empty("TERMINUS_ADDR") {
            self.addr = v.parse().with_context(|| {
                format!("TERMINUS_ADDR={v} is not an address like 127.0.0.1:3000")
            })?;
        }
        if let Some(v) = non_empty("TERMINUS_PUBLIC_URL") {
            self.public_url = Some(v);
        }
        if let Some(v) = non_empty("SMTP_URL") {
            self.smtp_url = Some(v);
        }
        if let Some(v) = non_empty("TERMINUS_MAIL_FROM") {
            self.mail_from = v;
        }
        if let Some(v) = non_empty("TERMINUS_AUDIT_RETENTION_DAYS") {
            self.audit_retention_days = Some(v.trim().parse().with_context(|| {
                format!("TERMINUS_AUDIT_RETENTION_DAYS={v} is not a number of days")
            })?);
        }
        if let Some(v) = non_empty("TERMINUS_OUTBOX_DIR") {
            self.outbox_dir = v.into();
        }
        if let Some(v) = non_empty("TERMINUS_COOKIE_SECURE") {
            self.cookie_secure = Some(matches!(v.trim(), "1" | "true" | "yes" | "on"));
        }
        if let Some(v) = non_empty("TERMINUS_TRUSTED_PROXIES") {
            self.trusted_proxies = v
                .split(',')
                .map(|s| s.trim().parse::<IpAddr>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("TERMINUS_TRUSTED_PROXIES={v} is not a comma-separated list of IPs")
                })?;
        }
        if let Some(v) = non_empty("TERMINUS_DB_MAX_CONNECTIONS") {
            self.db_max_connections = v
                .parse()
                .context("TERMINUS_DB_MAX_CONNECTIONS must be a number")?;
        }
        if let Some(v) = non_empty("TERMINUS_SECRET_KEY") {
            self.secret_key = Some(v);
        }
        if let Some(v) = non_empty("TERMINUS_SECRET_KEY_FILE") {
            self.secret_key_file = v.into();
        }
        #[cfg(feature = "bench")]
        if let Some(v) = non_empty("TERMINUS_BENCH_ROUTES") {
            self.bench_routes = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = non_empty("TERMINUS_HASH_SCHED_IDLE") {
            self.hash_sched_idle = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = non_empty("TERMINUS_HASH_NICE") {
            self.hash_nice = v
                .parse()
                .context("TERMINUS_HASH_NICE must be a number from 0 to 19")?;
        }
        if let Some(v) = non_empty("TERMINUS_DNS_SERVERS") {
            self.dns_servers = v
                .split(',')
                .map(|s| s.trim().parse::<SocketAddr>())
                .collect::<Result<_, _>>()
                .with_context(|| {
                    format!("TERMINUS_DNS_SERVERS={v} is not a comma-separated list of ip:port")
                })?;
        }
        if let Some(v) = non_empty("TERMINUS_SSO_ALLOW_PRIVATE_ISSUERS") {
            self.sso_allow_private_issuers = matches!(v.trim(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = non_empty("TERMINUS_INVITATIONS_PER_DAY") {
            self.invitations_per_day = v
                .parse()
                .context("TERMINUS_INVITATIONS_PER_DAY must be a number")?;
        }
        let floods = &mut self.floods;
        for (name, setting) in [
            (
                "TERMINUS_REQUESTS_PER_IP_PER_HOUR",
                &mut floods.requests_per_ip_per_hour,
            ),
            (
                "TERMINUS_PASSKEY_SIGN_INS_PER_IP_PER_HOUR",
                &mut floods.passkey_sign_ins_per_ip_per_hour,
            ),
            (
                "TERMINUS_CONFIRM_MAILS_PER_DOMAIN_PER_HOUR",
                &mut floods.confirm_mails_per_domain_per_hour,
            ),
            (
                "TERMINUS_INVITATIONS_PER_PERSON_PER_DAY",
                &mut floods.invitations_per_person_per_day,
            ),
            (
                "TERMINUS_ACCOUNTS_PER_PERSON_PER_DAY",
                &mut floods.accounts_per_person_per_day,
            ),
        ] {
            if let Some(v) = non_empty(name) {
                *setting = v
                    .trim()
                    .parse()
                    .with_context(|| format!("{name}={v} must be a number"))?;
            }
        }
        if let Some(v) = non_empty("TERMINUS_SIGNUP") {
            self.signup = SignUpPolicy::parse(&v)
                .with_context(|| format!("TERMINUS_SIGNUP={v}: use open or invite_only"))?;
        }
        if let Some(v) = non_empty("TERMINUS_DEFAULT_PLAN") {
            self.default_plan = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("TERMINUS_METRICS_ADDR") {
            self.metrics_addr = Some(v.trim().parse().with_context(|| {
                format!("TERMINUS_METRICS_ADDR={v} is not an address like 127.0.0.1:9100")
            })?);
        }
        if let Some(v) = non_empty("TERMINUS_RATE_LIMIT_URL") {
            self.rate_limit_url = Some(v.trim().to_owned());
        }
        if let Some(v) = non_empty("TERMINUS_LOG_FORMAT") {
            self.log_format = LogFormat::parse(&v)
                .with_context(|| format!("TERMINUS_LOG_FORMAT={v}: use text or json"))?;
        }
        if let Some(v) = non_empty("TERMINUS_HEADER_TIMEOUT_SECS") {
            self.header_timeout = Duration::from_secs(
                v.trim()
                    .parse()
                    .context("TERMINUS_HEADER_TIMEOUT_SECS must be a number of seconds")?,
            );
        }
        if let Some(v) = non_empty("TERMINUS_REQUEST_TIMEOUT_SECS") {
            self.request_timeout = Duration::from_secs(
                v.trim()
                    .parse()
                    .context("TERMINUS_REQUEST_TIMEOUT_SECS must be a number of seconds")?,
            );
        }
        if let Some(v) = non_empty("TERMINUS_MAX_CONNECTIONS") {
            self.max_connections = v
                .trim()
                .parse()
                .context("TERMINUS_MAX_CONNECTIONS must be a number")?;
        }
        if let Some(v) = non_empty("TERMINUS_HASH_PERMITS") {
            self.hash_permits = Some(
                v.parse()
                    .context("TERMINUS_HASH_PERMITS must be a number")?,
            );
        }
        Ok(())
    }

    /// The sealing key: `TERMINUS_SECRET_KEY`, else the key file (created with a new random key
    /// and mode 0600 the first time, for development).
    pub fn sealing_key(&self) -> anyhow::Result<app::sealing::SealingKey> {
        let encoded = match &self.secret_key {
            Some(key) => key.clone(),
            None if self.secret_key_file.exists() => std::fs::read_to_string(&self.secret_key_file)
                .with_context(|| format!("reading {}", self.secret_key_file.display()))?,
            None => {
                let key = app::sealing::SealingKey::generate_base64();
                if let Some(dir) = self
                    .secret_key_file
                    .parent()
                    .filter(|d| !d.as_os_str().is_empty())
                {
                    std::fs::create_dir_all(dir)?;
                }
                let mut file = std::fs::OpenOptions::new();
                file.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
                std::io::Write::write_all(&mut file.open(&self.secret_key_file)?, key.as_bytes())
                    .with_context(|| format!("writing {}", self.secret_key_file.display()))?;
                tracing::warn!(file = %self.secret_key_file.display(), "generated a sealing key; set TERMINUS_SECRET_KEY on every instance in production");
                key
            }
        };
        app::sealing::SealingKey::from_base64(&encoded)
            .context("TERMINUS_SECRET_KEY (or the key file) is not 32 base64-encoded bytes")
    }

    /// Who mails come from: `mail_from`, or, unset, `Terminus Hub <no-reply@HOST>` with the
    /// public URL's host name (`localhost` when it is an IP address, which is no mail domain).
    pub fn sender(&self) -> String {
        if !self.mail_from.trim().is_empty() {
            return self.mail_from.clone();
        }
        let host = self
            .public_url
            .as_deref()
            .and_then(|u| url::Url::parse(u).ok())
            .and_then(|u| u.domain().map(str::to_owned))
            .unwrap_or_else(|| "localhost".to_owned());
        format!("Terminus Hub <no-reply@{host}>")
    }

    /// The public URL, defaulting to the bound address.
    pub fn public_url_for(&self, bound: SocketAddr) -> String {
        self.public_url
            .clone()
            .unwrap_or_else(|| format!("http://{bound}"))
            .trim_end_matches('/')
            .to_owned()
    }

    /// Which networks SSO issuers may be on: loopback only when the hub itself is served on
    /// loopback (development and tests), private ranges only when the operator says so.
    pub fn issuer_policy_for(&self, public_url: &str) -> app::domain::sso::IssuerPolicy {
        let host = url::Url::parse(public_url)
            .ok()
            .and_then(|u| u.host().map(|h| h.to_owned()));
        let loopback = match host {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => false,
        };
        app::domain::sso::IssuerPolicy {
            allow_loopback: loopback,
            allow_private: self.sso_allow_private_issuers,
        }
    }

    /// Cookies are `Secure` (and `__Host-` named) unless the site is plain-http localhost.
    pub fn cookie_secure_for(&self, public_url: &str) -> bool {
        self.cookie_secure.unwrap_or_else(|| {
            let local = ["http://localhost", "http://127.0.0.1", "http://[::1]"];
            !local.iter().any(|p| {
                public_url == *p
                    || public_url
                        .strip_prefix(p)
                        .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('/'))
            })
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_sender_defaults_to_no_reply_at_the_public_host() {
        let mut c = Config::default();
        assert_eq!(c.sender(), "Terminus Hub <no-reply@localhost>");
        c.public_url = Some("https://hub.example.com:8443/".into());
        assert_eq!(c.sender(), "Terminus Hub <no-reply@hub.example.com>");
        c.public_url = Some("http://192.0.2.7:3000".into());
        assert_eq!(c.sender(), "Terminus Hub <no-reply@localhost>");
    }

    #[test]
    fn env_overrides_file_overrides_defaults() {
        let mut c = Config::default();
        c.apply_file(
            toml::from_str("addr = \"0.0.0.0:8080\"\nmail_from = \"A <a@x.test>\"").unwrap(),
        )
        .unwrap();
        c.apply_env(|k| (k == "TERMINUS_ADDR").then(|| "127.0.0.1:9000".to_string()))
            .unwrap();
        assert_eq!(c.addr.to_string(), "127.0.0.1:9000");
        assert_eq!(c.mail_from, "A <a@x.test>");
        assert_eq!(c.sender(), "A <a@x.test>");
        assert_eq!(c.database_url, "sqlite://data/terminus.db");
    }

    #[test]
    fn plans_come_from_the_file_and_are_checked() {
        let mut c = Config::default();
        c.apply_file(
            toml::from_str(
                "default_plan = \"startup\"\nsignup = \"invite_only\"\n[plans.startup]\nper_minute = 1200\nburst = 50\n",
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(c.signup, SignUpPolicy::InviteOnly);
        let plans = c.plan_table().unwrap();
        assert_eq!(plans.default_name(), "startup");
        assert_eq!(plans.get("startup").unwrap().burst, 50);
        assert!(plans.contains("free"), "the built-ins stay");
        c.apply_env(|k| (k == "TERMINUS_DEFAULT_PLAN").then(|| "gold".to_string()))
            .unwrap();
        let err = format!("{:#}", c.validate().unwrap_err());
        assert!(err.contains("\"gold\"") && err.contains("startup"), "{err}");
        assert!(toml::from_str::<FileConfig>("[plans.x]\nper_minute = 1\nbrust = 2").is_err());
    }

    #[test]
    fn unknown_file_keys_are_errors() {
        assert!(toml::from_str::<FileConfig>("databse_url = \"x\"").is_err());
    }

    #[test]
    fn bad_env_values_say_which() {
        let mut c = Config::default();
        let err = c
            .apply_env(|k| (k == "TERMINUS_ADDR").then(|| "nope".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("TERMINUS_ADDR"));
    }

    #[test]
    fn secure_cookies_except_on_local_http() {
        let c = Config::default();
        assert!(!c.cookie_secure_for("http://127.0.0.1:3000"));
        assert!(!c.cookie_secure_for("http://localhost"));
        assert!(c.cookie_secure_for("http://localhost.evil.test"));
        assert!(c.cookie_secure_for("https://hub.example.com"));
    }

    #[test]
    fn debug_redacts_credentials() {
        let c = Config {
            smtp_url: Some("smtps://user:pa55@mail.example.com:465".into()),
            database_url: "postgres://app:s3cret@db/terminus".into(),
            ..Config::default()
        };
        let shown = format!("{c:?}");
        assert!(
            !shown.contains("pa55") && !shown.contains("s3cret"),
            "{shown}"
        );
    }
}
