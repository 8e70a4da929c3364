//! Plans: the named API allowances an account can be on, and the default one. They are
//! configuration (`[plans.NAME]` in `terminus.toml`, and `default_plan`), not code: the
//! process fills a [`Plans`] table at start and every rule that needs a plan reads it here.
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::{Arc, Mutex};

/// A plan's allowance: `per_minute` requests sustained, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PlanLimits {
    pub per_minute: u32,
    pub burst: u32,
}

impl PlanLimits {
    /// `RateLimit-Policy` (draft-ietf-httpapi-ratelimit-headers).
    pub fn header(&self) -> String {
        format!("{};w=60;burst={}", self.per_minute, self.burst)
    }
}

/// The plan new accounts get unless `default_plan` says otherwise.
pub const BUILT_IN_DEFAULT: &str = "free";

/// The built-in plans. A `[plans.NAME]` table in the configuration adds plans, and replaces
/// the numbers of a built-in plan of the same name; the built-ins themselves always exist, so
/// accounts stored with one of them never lose their allowance when the file changes.
pub fn built_in() -> BTreeMap<String, PlanLimits> {
    BTreeMap::from([
        (
            "free".to_owned(),
            PlanLimits {
                per_minute: 600,
                burst: 100,
            },
        ),
        (
            "team".to_owned(),
            PlanLimits {
                per_minute: 6_000,
                burst: 1_000,
            },
        ),
        // Large customers (and the benchmark): effectively unmetered per instance.
        (
            "enterprise".to_owned(),
            PlanLimits {
                per_minute: 6_000_000,
                burst: 100_000,
            },
        ),
    ])
}

/// Why a plan table was refused at start.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("default_plan is {0:?}, which is not a plan (known: {1})")]
    UnknownDefault(String, String),
    #[error("plan {0:?}: per_minute and burst must both be at least 1")]
    Zero(String),
    #[error("plan name {0:?}: use 1 to 40 of a-z, 0-9, '-' and '_'")]
    BadName(String),
}

/// The plan table in force, with the default plan.
#[derive(Clone)]
pub struct Plans {
    table: BTreeMap<String, PlanLimits>,
    default: String,
    /// Unknown plan names already warned about (one warning per name, not per request).
    warned: Arc<Mutex<BTreeSet<String>>>,
}

impl fmt::Debug for Plans {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Plans")
            .field("table", &self.table)
            .field("default", &self.default)
            .finish()
    }
}

impl Default for Plans {
    fn default() -> Self {
        Self {
            table: built_in(),
            default: BUILT_IN_DEFAULT.to_owned(),
            warned: Arc::default(),
        }
    }
}

impl Plans {
    /// The built-in plans, with `extra` added or replacing, and `default` (the built-in
    /// default when `None`). Refuses a zero allowance, an odd name or an unknown default.
    pub fn new(
        extra: impl IntoIterator<Item = (String, PlanLimits)>,
        default: Option<String>,
    ) -> Result<Self, PlanError> {
        let mut table = built_in();
        for (name, limits) in extra {
            if !valid_name(&name) {
                return Err(PlanError::BadName(name));
            }
            if limits.per_minute == 0 || limits.burst == 0 {
                return Err(PlanError::Zero(name));
            }
            table.insert(name, limits);
        }
        let default = default.unwrap_or_else(|| BUILT_IN_DEFAULT.to_owned());
        if !table.contains_key(&default) {
            let known = table.keys().cloned().collect::<Vec<_>>().join(", ");
            return Err(PlanError::UnknownDefault(default, known));
        }
        Ok(Self {
            table,
            default,
            warned: Arc::default(),
        })
    }

    /// The plan new accounts are created on.
    pub fn default_name(&self) -> &str {
        &self.default
    }

    pub fn get(&self, name: &str) -> Option<PlanLimits> {
        self.table.get(name).copied()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.table.contains_key(name)
    }

    /// Every plan, by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, PlanLimits)> {
        self.table.iter().map(|(n, l)| (n.as_str(), *l))
    }

    /// The plan an account stored as `name` is on: that one, or (a plan since removed from
    /// the configuration, a typo in the database) the default plan, with one warning.
    pub fn resolve<'a>(&'a self, name: &'a str) -> (&'a str, PlanLimits) {
        if let Some(limits) = self.table.get(name) {
            return (name, *limits);
        }
        let first_time = self
            .warned
            .lock()
            .map(|mut warned| warned.insert(name.to_owned()))
            .unwrap_or(false);
        if first_time {
            tracing::warn!(
                plan = %name,
                default = %self.default,
                "an account is on a plan the configuration does not define; it gets the default plan"
            );
        }
        let limits = self
            .table
            .get(&self.default)
            .copied()
            .unwrap_or(PlanLimits {
                per_minute: 600,
                burst: 100,
            });
        (&self.default, limits)
    }
}

fn valid_name(name: &str) -> bool {
    (1..=40).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_ins_stay_and_the_file_adds_or_replaces() {
        let plans = Plans::new(
            [
                (
                    "startup".to_owned(),
                    PlanLimits {
                        per_minute: 1200,
                        burst: 200,
                    },
                ),
                (
                    "free".to_owned(),
                    PlanLimits {
                        per_minute: 60,
                        burst: 10,
                    },
                ),
            ],
            Some("startup".into()),
        )
        .unwrap();
        assert_eq!(plans.default_name(), "startup");
        assert_eq!(plans.get("free").unwrap().per_minute, 60);
        assert!(plans.contains("team") && plans.contains("enterprise"));
        assert_eq!(
            plans.resolve("gone"),
            ("startup", plans.get("startup").unwrap())
        );
    }

    #[test]
    fn refused_tables_say_why() {
        let zero = PlanLimits {
            per_minute: 0,
            burst: 5,
        };
        assert_eq!(
            Plans::new([("x".to_owned(), zero)], None).unwrap_err(),
            PlanError::Zero("x".into())
        );
        let err = Plans::new([], Some("gold".into())).unwrap_err();
        assert!(err.to_string().contains("\"gold\""), "{err}");
        assert!(matches!(
            Plans::new(
                [(
                    "Bad Name".to_owned(),
                    PlanLimits {
                        per_minute: 1,
                        burst: 1
                    }
                )],
                None
            ),
            Err(PlanError::BadName(_))
        ));
    }

    #[test]
    fn the_built_in_default_is_600_a_minute_burst_100() {
        let plans = Plans::default();
        assert_eq!(
            plans.resolve("free").1,
            PlanLimits {
                per_minute: 600,
                burst: 100
            }
        );
    }
}
