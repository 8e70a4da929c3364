//! DNS with `hickory-resolver`, through the nameservers of `TERMINUS_DNS_SERVERS` or the
//! system's: the [`app::ports::DnsTxt`] adapter (domain verification) and the address lookups
//! of single sign-on's guarded HTTP client. Nothing is cached, so a record an owner has just
//! published is seen on the next "Verify", and an address is checked as it is now.
use std::net::SocketAddr;
use std::time::Duration;

use app::ports::{DnsError, DnsTxt};
use async_trait::async_trait;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use hickory_resolver::proto::xfer::Protocol;
use hickory_resolver::{Resolver, TokioResolver};

pub struct HickoryDns {
    resolver: TokioResolver,
}

impl HickoryDns {
    /// A resolver over `servers` (UDP, then TCP for long answers), or the system's
    /// configuration when the list is empty.
    pub fn new(servers: &[SocketAddr]) -> anyhow::Result<Self> {
        let mut builder = if servers.is_empty() {
            Resolver::builder_tokio()?
        } else {
            let mut config = ResolverConfig::new();
            for server in servers {
                config.add_name_server(NameServerConfig::new(*server, Protocol::Udp));
                config.add_name_server(NameServerConfig::new(*server, Protocol::Tcp));
            }
            Resolver::builder_with_config(config, TokioConnectionProvider::default())
        };
        let options: &mut ResolverOpts = builder.options_mut();
        options.cache_size = 0;
        options.timeout = Duration::from_secs(3);
        options.attempts = 2;
        // Names are absolute: never try the local search domains.
        options.ndots = 0;
        Ok(Self {
            resolver: builder.build(),
        })
    }
}

impl HickoryDns {
    /// The addresses `host` resolves to (A and AAAA).
    pub async fn ips(&self, host: &str) -> Result<Vec<std::net::IpAddr>, DnsError> {
        let absolute = format!("{}.", host.trim_end_matches('.'));
        match self.resolver.lookup_ip(absolute).await {
            Ok(lookup) => Ok(lookup.iter().collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}

#[async_trait]
impl DnsTxt for HickoryDns {
    async fn txt(&self, name: &str) -> Result<Vec<String>, DnsError> {
        let absolute = format!("{}.", name.trim_end_matches('.'));
        match self.resolver.txt_lookup(absolute).await {
            Ok(lookup) => Ok(lookup
                .iter()
                .map(|txt| {
                    txt.txt_data()
                        .iter()
                        .map(|part| String::from_utf8_lossy(part))
                        .collect::<String>()
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(DnsError(e.to_string())),
        }
    }
}
