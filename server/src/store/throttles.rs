//! Failed credentials counted per key, in the database so that every
//! instance sees the same counts (the rules are `http::throttle`'s).

/// A key's failures are forgotten this long after its last one.
pub const STRIKE_MEMORY: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// One key's failures as stored.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Strikes {
    /// Failures since the key was last forgotten; 0 forgets it.
    pub failures: u32,
    /// Unix milliseconds of the last failure.
    pub last_failure: i64,
    /// No attempt on this key goes ahead before this.
    pub allowed_at: i64,
}

/// What `change_strikes` does with the strikes it read: `None` to leave them
/// as they are, or the strikes to store for each key, in order.
pub type StrikeChange<'a> = dyn Fn(&[Option<Strikes>]) -> Option<Vec<Strikes>> + Send + Sync + 'a;

#[async_trait::async_trait]
pub trait ThrottleStore: Send + Sync {
    /// The keys' strikes, in order; `None` for a key without any.
    async fn strikes(&self, keys: &[String]) -> anyhow::Result<Vec<Option<Strikes>>>;

    /// Reads the keys' strikes and stores what `change` makes of them, in one
    /// transaction that no other attempt on these keys interleaves with (on
    /// any instance). Returns the strikes read and whether `change` changed them.
    async fn change_strikes(
        &self,
        keys: &[String],
        change: &StrikeChange<'_>,
    ) -> anyhow::Result<(Vec<Option<Strikes>>, bool)>;

    /// Forgets up to `batch` keys whose last failure came before `before`.
    async fn prune_strikes(&self, before: i64, batch: u32) -> anyhow::Result<u64>;
}
