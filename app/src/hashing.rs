//! Password hashing with argon2id (OWASP: m=19456 KiB, t=2, p=1), computed by the RustCrypto
//! `argon2` crate on a small pool of dedicated threads (one per CPU by default), off the async
//! runtime. Waiting jobs queue up without memory of their own: only the pool's threads ever
//! hold argon2's 19 MiB, so a flood of sign-ins costs at most `permits × ~20 MiB` and cannot
//! starve the runtime's threads. Each thread keeps its argon2 memory from one job to the next
//! and zeroes it after every hash.
//!
//! A hash runs to its end once started; what keeps a flood of sign-ins from putting a tail on
//! other requests (API calls, pages) is the schedule. The hashing threads run under
//! `SCHED_IDLE` (`TERMINUS_HASH_SCHED_IDLE`, on by default; otherwise at the lower priority of
//! `TERMINUS_HASH_NICE`), and while requests that do not hash are in flight (or one
//! was answered within the last millisecond), one hash fewer may start (never fewer than one
//! runs), so a core stays free for them while sign-ins keep moving. A request counts as such
//! until it waits for a hash, so sign-ins alone never hold hashing back.
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{mpsc, Condvar, PoisonError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use zeroize::Zeroize as _;

use crate::domain::secret::Secret;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("argon2: {0}")]
    Argon2(String),
    #[error("hashing task failed: {0}")]
    Task(String),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Match {
        /// A new hash with today's parameters, when the stored one used older ones.
        rehash: Option<String>,
    },
    Mismatch,
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The histogram of the time from a job's submission to its start on a hashing thread.
pub const HASH_QUEUE_WAIT: &str = "terminus_password_hash_queue_wait_seconds";

/// The hashing threads. They end when the last `Passwords` clone is dropped.
struct Pool {
    jobs: Mutex<mpsc::Sender<Job>>,
    gate: Arc<Gate>,
    threads: usize,
}

impl Pool {
    fn start(threads: usize, schedule: Schedule, demand: Arc<Demand>) -> Result<Self, HashError> {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let gate = Arc::new(Gate::new(threads));
        for i in 0..threads {
            let (rx, gate, demand) = (rx.clone(), gate.clone(), demand.clone());
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || {
                    if schedule.idle {
                        idle_policy();
                    }
                    lower_priority(schedule.nice);
                    run_jobs(&rx, &gate, &demand);
                })
                .map_err(|e| HashError::Task(e.to_string()))?;
        }
        Ok(Self {
            jobs: Mutex::new(tx),
            gate,
            threads,
        })
    }
}

thread_local! {
    /// argon2's 19 MiB of working memory, kept by each hashing thread from one job to the
    /// next (`None` on every other thread, which allocates per hash). Allocating it per hash
    /// cost page faults and zeroing in the kernel: about a sixth of a hashing thread's time.
    static KEPT_BLOCKS: RefCell<Option<Vec<Block>>> = const { RefCell::new(None) };
}

/// For how long after a request that did not hash was answered it counts as "other requests
/// are being served": API calls take tens of microseconds, so under API traffic one is
/// answered every few tens of microseconds.
const RECENT: Duration = Duration::from_millis(1);

tokio::task_local! {
    /// The request served by this task (see [`Passwords::serve`]).
    static SERVED: Served;
}

/// A request being served, counted in [`Demand`] as "other" until it waits for a hash.
struct Served {
    demand: Arc<Demand>,
    hashed: std::cell::Cell<bool>,
}

impl Served {
    fn new(demand: Arc<Demand>) -> Self {
        demand.others_in_flight.fetch_add(1, Ordering::Relaxed);
        Self {
            demand,
            hashed: std::cell::Cell::new(false),
        }
    }

    /// The request waits for a hash: it stops counting as another request. True the first
    /// time.
    fn waits_for_a_hash(&self) -> bool {
        let first = !self.hashed.replace(true);
        if first {
            self.demand.others_in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        first
    }
}

impl Drop for Served {
    /// Answered (or abandoned): a request that did not hash leaves its time.
    fn drop(&mut self) {
        if !self.hashed.get() {
            self.demand.others_in_flight.fetch_sub(1, Ordering::Relaxed);
            self.demand.other_request_answered();
        }
    }
}

/// The requests that do not hash (API calls, pages): how many are in flight, and when the
/// last was answered. While one is in flight or was answered recently, one hash fewer may
/// run at once; sign-ins alone never hold hashing back.
#[derive(Debug)]
struct Demand {
    /// Requests being served that have not (yet) waited for a hash.
    others_in_flight: AtomicUsize,
    /// Microseconds from `epoch` to the last answer to one (0: never).
    last_other: AtomicU64,
    epoch: Instant,
}

impl Default for Demand {
    fn default() -> Self {
        Self {
            others_in_flight: AtomicUsize::new(0),
            last_other: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Demand {
    fn micros_since_epoch(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
    }

    fn other_request_answered(&self) {
        self.last_other
            .store(self.micros_since_epoch().max(1), Ordering::Relaxed);
    }

    /// Whether, at `now` (microseconds from `epoch`), another request was answered recently.
    fn others_are_served_at(&self, now: u64) -> bool {
        let last = self.last_other.load(Ordering::Relaxed);
        last != 0 && now.saturating_sub(last) < RECENT.as_micros() as u64
    }

    fn others_are_served(&self) -> bool {
        self.others_in_flight.load(Ordering::Relaxed) > 0
            || self.others_are_served_at(self.micros_since_epoch())
    }
}

/// How many hashes run at once: one per hashing thread while only sign-ins come, one fewer
/// (at least one) while other requests are being served. A thread that may not start its job
/// waits here with it, and looks again when a hash ends, when a request starts waiting for a
/// hash, or after [`RECENT`].
struct Gate {
    running: Mutex<usize>,
    freed: Condvar,
    threads: usize,
}

/// A running hash's place at the [`Gate`], given back when dropped.
struct Slot<'a>(&'a Gate);

impl Gate {
    fn new(threads: usize) -> Self {
        Self {
            running: Mutex::new(0),
            freed: Condvar::new(),
            threads,
        }
    }

    fn limit(&self, demand: &Demand) -> usize {
        if demand.others_are_served() {
            self.threads.saturating_sub(1).max(1)
        } else {
            self.threads
        }
    }

    /// Makes waiting threads look again (the demand changed).
    fn wake(&self) {
        // Under the lock, so that a thread between its look and its wait cannot miss it.
        let _running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        self.freed.notify_all();
    }

    fn enter(&self, demand: &Demand) -> Slot<'_> {
        // The lock guards a counter only: a panic elsewhere cannot leave it half-written.
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        while *running >= self.limit(demand) {
            running = self
                .freed
                .wait_timeout(running, RECENT)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        *running += 1;
        Slot(self)
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut running = self
            .0
            .running
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        *running = running.saturating_sub(1);
        self.0.freed.notify_one();
    }
}

/// Runs queued jobs until the pool is dropped.
fn run_jobs(rx: &Mutex<mpsc::Receiver<Job>>, gate: &Gate, demand: &Demand) {
    KEPT_BLOCKS.set(Some(Vec::new()));
    loop {
        // Hold the lock only to take the next job, not while running it.
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        let _slot = gate.enter(demand);
        job();
    }
}

/// Gives the calling thread niceness `nice`, so the scheduler prefers the runtime's threads
/// (API requests, pages) over hashing when both want the CPU. Hashing still gets the CPU
/// nobody else wants, so sign-ins on their own run at full speed (measured by the
/// benchmark). Best effort: a failure only costs that preference.
#[cfg(target_os = "linux")]
fn lower_priority(nice: i32) {
    if nice <= 0 {
        return;
    }
    let me = rustix::thread::gettid();
    if let Err(err) = rustix::process::setpriority_process(Some(me), nice.min(19)) {
        tracing::warn!(error = %err, "could not lower the hashing threads' priority");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_priority(_nice: i32) {}

/// Puts the calling thread under `SCHED_IDLE`: it runs only when no other thread of the
/// machine wants its CPU. Unlike a niceness, which still lets a hash finish its time slice
/// (a scheduler tick, 4 ms here) before a woken request thread runs, any woken thread
/// preempts an idle-policy one at once, and the kernel places woken threads on a CPU that
/// runs only idle-policy threads as if it were free. Best effort, like [`lower_priority`].
#[cfg(target_os = "linux")]
fn idle_policy() {
    use thread_priority::unix::{
        set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
        ThreadSchedulePolicy,
    };
    // The crate also sets the niceness to 0 here; `lower_priority` sets ours afterwards.
    if let Err(err) = set_thread_priority_and_policy(
        thread_native_id(),
        thread_priority::ThreadPriority::Min,
        ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
    ) {
        tracing::warn!(error = %err, "could not put the hashing threads under SCHED_IDLE");
    }
}

#[cfg(not(target_os = "linux"))]
fn idle_policy() {}

/// How the hashing threads are scheduled (see [`Passwords::with_schedule`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule {
    /// Niceness (Linux, 0–19; 0 = the same as the rest of the process).
    pub nice: i32,
    /// `SCHED_IDLE` (Linux): hashing gets only the CPU nobody else wants.
    pub idle: bool,
}

/// Hashes and verifies passwords. Cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    params: Params,
    pool: Arc<Pool>,
    demand: Arc<Demand>,
    /// Verified when the email is unknown, so the answer takes as long as for a real user.
    dummy_hash: Arc<String>,
}

pub const OWASP_MEMORY_KIB: u32 = 19_456;
pub const OWASP_ITERATIONS: u32 = 2;
pub const OWASP_PARALLELISM: u32 = 1;

impl Passwords {
    /// `permits` hashes may run at once, each on its own thread (the CPU count is the
    /// natural choice).
    pub fn new(permits: usize) -> Result<Self, HashError> {
        Self::with_niceness(permits, 0)
    }

    /// Like [`Passwords::new`], with the hashing threads at niceness `nice` (Linux).
    pub fn with_niceness(permits: usize, nice: i32) -> Result<Self, HashError> {
        Self::with_schedule(permits, Schedule { nice, idle: false })
    }

    /// Like [`Passwords::new`], with the hashing threads scheduled as `schedule` says.
    pub fn with_schedule(permits: usize, schedule: Schedule) -> Result<Self, HashError> {
        let params = Params::new(OWASP_MEMORY_KIB, OWASP_ITERATIONS, OWASP_PARALLELISM, None)
            .map_err(argon_err)?;
        let dummy = hash_blocking(&params, crate::domain::tokens::generate_token().expose())?;
        let demand = Arc::new(Demand::default());
        Ok(Self {
            params,
            pool: Arc::new(Pool::start(permits.max(1), schedule, demand.clone())?),
            demand,
            dummy_hash: Arc::new(dummy),
        })
    }

    /// A hasher for unit tests: one thread, and argon2id at its smallest cost (8 KiB, one
    /// pass), so a test hashes in microseconds. Its hashes are not "current" for a real one.
    #[cfg(test)]
    pub fn for_tests() -> Result<Self, HashError> {
        let params = Params::new(8, 1, 1, None).map_err(argon_err)?;
        let dummy = hash_blocking(&params, crate::domain::tokens::generate_token().expose())?;
        let demand = Arc::new(Demand::default());
        let schedule = Schedule {
            nice: 0,
            idle: false,
        };
        Ok(Self {
            params,
            pool: Arc::new(Pool::start(1, schedule, demand.clone())?),
            demand,
            dummy_hash: Arc::new(dummy),
        })
    }

    pub fn permits(&self) -> usize {
        self.pool.threads
    }

    /// Serves one request (the router wraps every request in this). Until it waits for a
    /// hash, and for a moment after it is answered without one, one hash fewer may run:
    /// it, and the requests likely to follow it, should find a core free.
    pub async fn serve<F: std::future::Future>(&self, request: F) -> F::Output {
        SERVED
            .scope(Served::new(self.demand.clone()), request)
            .await
    }

    /// Whether some request served through [`Passwords::serve`] was answered without waiting
    /// for a hash: the signal that holds one hash back.
    pub fn answered_without_hashing(&self) -> bool {
        self.demand.last_other.load(Ordering::Relaxed) != 0
    }

    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        self.run(move || hash_blocking(&params, password.expose()))
            .await?
    }

    /// Verifies against `stored`, or against the dummy hash when there is none, so that
    /// "no such user" costs the same as "wrong password". A missing hash never matches.
    pub async fn verify(
        &self,
        password: &Secret,
        stored: Option<&str>,
    ) -> Result<Verification, HashError> {
        let params = self.params.clone();
        let password = password.clone();
        let real = stored.map(str::to_owned);
        let target = real
            .clone()
            .unwrap_or_else(|| self.dummy_hash.as_str().to_owned());
        self.run(move || {
            let parsed = PasswordHash::new(&target).map_err(argon_err)?;
            let ok = verify_blocking(&parsed, password.expose().as_bytes());
            if !ok || real.is_none() {
                return Ok(Verification::Mismatch);
            }
            let rehash = if is_current(&parsed, &params) {
                None
            } else {
                Some(hash_blocking(&params, password.expose())?)
            };
            Ok(Verification::Match { rehash })
        })
        .await?
    }

    /// Queues `work` for the pool and waits for its result.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        if SERVED.try_with(Served::waits_for_a_hash).unwrap_or(false) {
            // A hashing thread held back for this request may start now.
            self.pool.gate.wake();
        }
        let (done, result) = tokio::sync::oneshot::channel();
        let queued = Instant::now();
        let job: Job = Box::new(move || {
            // How long jobs wait for a hashing thread: the first sign of too few permits.
            metrics::histogram!(HASH_QUEUE_WAIT).record(queued.elapsed().as_secs_f64());
            // Nobody waits any more (the client went away while the job queued): skip the
            // work, so a flood of abandoned sign-ins stops costing CPU when its clients do.
            if done.is_closed() {
                return;
            }
            let _ = done.send(work());
        });
        self.pool
            .jobs
            .lock()
            .map_err(|_| HashError::Task("hashing pool poisoned".into()))?
            .send(job)
            .map_err(|_| HashError::Task("hashing pool stopped".into()))?;
        result
            .await
            .map_err(|_| HashError::Task("a hashing job was dropped".into()))
    }
}

fn argon_err(e: impl std::fmt::Display) -> HashError {
    HashError::Argon2(e.to_string())
}

/// `argon` of `password` and `salt` into `out`, in the thread's kept memory when it has some.
fn argon2_into(
    argon: &Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    KEPT_BLOCKS.with(|kept| match kept.try_borrow_mut().as_deref_mut() {
        Ok(Some(kept)) => argon2_in(kept, argon, blocks, password, salt, out),
        _ => argon2_in(&mut Vec::new(), argon, blocks, password, salt, out),
    })
}

/// [`argon2_into`] in `memory` (grown to `blocks` when smaller), which is zeroed afterwards:
/// no trace of the password stays in it between jobs.
fn argon2_in(
    memory: &mut Vec<Block>,
    argon: &Argon2<'_>,
    blocks: usize,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> Result<(), argon2::Error> {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    let used = memory
        .get_mut(..blocks)
        .ok_or(argon2::Error::MemoryTooLittle)?;
    let hashed = argon.hash_password_into_with_memory(password, salt, out, &mut *used);
    used.iter_mut().for_each(Block::zeroize);
    hashed
}

/// A PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`) for `password` with a new salt.
fn hash_blocking(params: &Params, password: &str) -> Result<String, HashError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    let mut salt_buf = [0u8; 64];
    let raw_salt = salt
        .as_salt()
        .decode_b64(&mut salt_buf)
        .map_err(argon_err)?;
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = vec![0u8; len];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone());
    argon2_into(
        &argon,
        params.block_count(),
        password.as_bytes(),
        raw_salt,
        &mut out,
    )
    .map_err(argon_err)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(argon_err)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(argon_err)?),
    };
    Ok(hash.to_string())
}

/// Recomputes `stored` (any argon2 variant, version and parameters) for `password` and
/// compares the outputs in constant time (`Output`'s equality).
fn verify_blocking(stored: &PasswordHash<'_>, password: &[u8]) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let Ok(algorithm) = Algorithm::try_from(stored.algorithm) else {
        return false;
    };
    // A PHC string without `v=` is version 0x13 (the `argon2` crate's default).
    let Ok(version) = stored.version.map(Version::try_from).transpose() else {
        return false;
    };
    let Ok(params) = Params::try_from(stored) else {
        return false;
    };
    let mut salt_buf = [0u8; 64];
    let Ok(raw_salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let blocks = params.block_count();
    let argon = Argon2::new(algorithm, version.unwrap_or_default(), params);
    let mut out = vec![0u8; expected.len()];
    if argon2_into(&argon, blocks, password, raw_salt, &mut out).is_err() {
        return false;
    }
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

/// True when a stored hash already uses argon2id, v19 and today's parameters.
fn is_current(hash: &PasswordHash<'_>, params: &Params) -> bool {
    if hash.algorithm != Algorithm::Argon2id.ident() || hash.version != Some(Version::V0x13 as u32)
    {
        return false;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() == params.m_cost()
                && p.t_cost() == params.t_cost()
                && p.p_cost() == params.p_cost()
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hash_then_verify() {
        let p = Passwords::new(2).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        let h = p.hash(&pw).await.unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert_eq!(
            p.verify(&pw, Some(&h)).await.unwrap(),
            Verification::Match { rehash: None }
        );
        assert_eq!(
            p.verify(&Secret::new("wrong"), Some(&h)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn unknown_user_never_matches_even_the_dummy_password() {
        let p = Passwords::new(1).unwrap();
        assert_eq!(
            p.verify(&Secret::new("anything"), None).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[tokio::test]
    async fn at_most_permits_jobs_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let p = Passwords::new(2).unwrap();
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..10).map(|_| {
            let (active, peak, p) = (active.clone(), peak.clone(), p.clone());
            tokio::spawn(async move {
                p.run(move || {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    // Stand-in for a hash's CPU time, so jobs overlap if the pool let them.
                    std::thread::sleep(std::time::Duration::from_millis(20));
                    active.fetch_sub(1, Ordering::SeqCst);
                })
                .await
            })
        });
        for job in jobs.collect::<Vec<_>>() {
            job.await.unwrap().unwrap();
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2, "two workers, never more");
        assert_eq!(p.permits(), 2);
    }

    /// Polls `fut` once: far enough for `run` to queue its job.
    async fn poll_once<F: std::future::Future>(mut fut: std::pin::Pin<&mut F>) {
        std::future::poll_fn(|cx| {
            let _ = fut.as_mut().poll(cx);
            std::task::Poll::Ready(())
        })
        .await;
    }

    #[tokio::test]
    async fn a_queued_job_nobody_waits_for_is_skipped() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let p = Passwords::new(1).unwrap();
        // The first job holds the only worker until released.
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let mut busy = Box::pin(p.run(move || hold.recv().is_ok()));
        poll_once(busy.as_mut()).await;
        let ran = Arc::new(AtomicBool::new(false));
        let flag = ran.clone();
        let mut abandoned = Box::pin(p.run(move || flag.store(true, Ordering::SeqCst)));
        poll_once(abandoned.as_mut()).await;
        drop(abandoned); // the client went away while its job queued
        release.send(()).unwrap();
        assert!(busy.await.unwrap());
        // Jobs run in order on the one worker: once this one is done, the other was seen.
        p.run(|| ()).await.unwrap();
        assert!(!ran.load(Ordering::SeqCst), "an abandoned job must not run");
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_run_at_the_configured_niceness() {
        let before = rustix::process::getpriority_process(None).unwrap();
        let want = (before + 5).min(19);
        let p = Passwords::with_niceness(1, want).unwrap();
        let nice = p
            .run(|| rustix::process::getpriority_process(None).unwrap())
            .await
            .unwrap();
        assert_eq!(nice, want);
        // Only the hashing threads move: this thread keeps its priority.
        assert_eq!(rustix::process::getpriority_process(None).unwrap(), before);
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn hashing_threads_can_run_under_the_idle_policy() {
        use thread_priority::unix::{
            thread_schedule_policy, NormalThreadSchedulePolicy, ThreadSchedulePolicy,
        };
        let want = (rustix::process::getpriority_process(None).unwrap() + 5).min(19);
        let p = Passwords::with_schedule(
            1,
            Schedule {
                nice: want,
                idle: true,
            },
        )
        .unwrap();
        let (policy, nice) = p
            .run(|| {
                (
                    thread_schedule_policy().unwrap(),
                    rustix::process::getpriority_process(None).unwrap(),
                )
            })
            .await
            .unwrap();
        assert_eq!(
            policy,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle)
        );
        assert_eq!(nice, want);
        // This thread keeps its policy.
        assert_eq!(
            thread_schedule_policy().unwrap(),
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other)
        );
        let pw = Secret::new("plumtreeviolinsunset");
        let h = p.hash(&pw).await.unwrap();
        assert!(matches!(
            p.verify(&pw, Some(&h)).await.unwrap(),
            Verification::Match { rehash: None }
        ));
    }

    #[tokio::test]
    async fn hashes_interoperate_with_the_stock_argon2_api() {
        use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
        let p = Passwords::new(1).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        // Ours (made in a hashing thread's kept memory) verify with the stock verifier …
        let ours = p.hash(&pw).await.unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(pw.expose().as_bytes(), &parsed)
            .is_ok());
        // … and the stock hasher's verify with ours, twice (the memory is reused).
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let stock = argon2::Argon2::new(Algorithm::Argon2id, Version::V0x13, p.params.clone())
            .hash_password(pw.expose().as_bytes(), &salt)
            .unwrap()
            .to_string();
        for _ in 0..2 {
            assert_eq!(
                p.verify(&pw, Some(&stock)).await.unwrap(),
                Verification::Match { rehash: None }
            );
        }
        // One character of the hash part changed (not the last, whose spare bits must be 0).
        let at = stock.len() - 10;
        let swap = if &stock[at..=at] == "A" { "B" } else { "A" };
        let tampered = format!("{}{swap}{}", &stock[..at], &stock[at + 1..]);
        assert_eq!(
            p.verify(&pw, Some(&tampered)).await.unwrap(),
            Verification::Mismatch
        );
    }

    #[test]
    fn hashing_gives_way_for_a_millisecond_after_another_request() {
        let demand = Demand::default();
        assert!(!demand.others_are_served_at(5), "no request yet");
        demand.last_other.store(1_000, Ordering::Relaxed);
        assert!(demand.others_are_served_at(1_000));
        assert!(demand.others_are_served_at(1_999));
        assert!(!demand.others_are_served_at(2_000));
    }

    #[tokio::test]
    async fn only_requests_that_did_not_hash_make_hashing_give_way() {
        let p = Passwords::new(1).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        let sign_in = p.serve(async { p.hash(&pw).await }).await;
        assert!(sign_in.is_ok());
        assert!(!p.answered_without_hashing());
        assert_eq!(p.serve(async { 7 }).await, 7);
        assert!(p.answered_without_hashing());
    }

    #[tokio::test]
    async fn old_parameters_are_upgraded() {
        let p = Passwords::new(1).unwrap();
        let weak = Params::new(4096, 1, 1, None).unwrap();
        let pw = Secret::new("plumtreeviolinsunset");
        let old = hash_blocking(&weak, pw.expose()).unwrap();
        match p.verify(&pw, Some(&old)).await.unwrap() {
            Verification::Match { rehash: Some(new) } => {
                assert!(new.contains("m=19456,t=2,p=1"));
            }
            other => panic!("expected an upgrade, got {other:?}"),
        }
    }

    /// Runs `jobs` stand-ins for a hash (20 ms each), each submitted from its own task (inside
    /// [`Passwords::serve`], as a sign-in's, when `served`); returns how many ran at once.
    async fn peak_of_jobs(p: &Passwords, jobs: usize, served: bool) -> usize {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let active = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let jobs = (0..jobs).map(|_| {
            let (active, peak, p) = (active.clone(), peak.clone(), p.clone());
            tokio::spawn(async move {
                let job = p.run(move || {
                    let now = active.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(20));
                    active.fetch_sub(1, Ordering::SeqCst);
                });
                if served {
                    p.serve(job).await
                } else {
                    job.await
                }
            })
        });
        for job in jobs.collect::<Vec<_>>() {
            job.await.unwrap().unwrap();
        }
        peak.load(Ordering::SeqCst)
    }

    #[tokio::test]
    async fn one_hash_fewer_runs_while_another_request_is_in_flight() {
        let p = Passwords::new(2).unwrap();
        // A request that does not hash (an API call, a page) stays in flight meanwhile.
        let (answer, answered) = tokio::sync::oneshot::channel::<()>();
        let other = tokio::spawn({
            let p = p.clone();
            async move {
                p.serve(async {
                    let _ = answered.await;
                })
                .await
            }
        });
        while p.demand.others_in_flight.load(Ordering::SeqCst) == 0 {
            tokio::task::yield_now().await;
        }
        assert_eq!(peak_of_jobs(&p, 6, false).await, 1, "one of two held back");
        answer.send(()).unwrap();
        other.await.unwrap();
        assert_eq!(p.demand.others_in_flight.load(Ordering::SeqCst), 0);
        assert!(p.answered_without_hashing());
    }

    #[tokio::test]
    async fn requests_that_hash_never_hold_hashing_back() {
        let p = Passwords::new(2).unwrap();
        assert_eq!(
            peak_of_jobs(&p, 10, true).await,
            2,
            "sign-ins use every thread"
        );
        assert_eq!(p.demand.others_in_flight.load(Ordering::SeqCst), 0);
        assert!(!p.answered_without_hashing());
    }

    #[test]
    fn a_single_hashing_thread_is_never_held_back() {
        let demand = Demand::default();
        demand.others_in_flight.fetch_add(1, Ordering::SeqCst);
        assert!(demand.others_are_served());
        assert_eq!(Gate::new(1).limit(&demand), 1);
        assert_eq!(Gate::new(4).limit(&demand), 3);
        assert_eq!(Gate::new(4).limit(&Demand::default()), 4);
    }

    #[test]
    fn kept_memory_is_zeroed_after_a_hash() {
        let params = Params::new(64, 1, 1, None).unwrap();
        KEPT_BLOCKS.set(Some(Vec::new()));
        hash_blocking(&params, "plumtreeviolinsunset").unwrap();
        KEPT_BLOCKS.with_borrow(|kept| {
            let kept = kept.as_ref().unwrap();
            assert_eq!(kept.len(), 64);
            assert!(kept
                .iter()
                .all(|block| block.as_ref().iter().all(|w| *w == 0)));
        });
    }
}
