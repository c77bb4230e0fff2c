//! ZUNION, ZINTER, ZDIFF numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM | MIN | MAX] [WITHSCORES],
//! their STORE forms (destination first), and ZINTERCARD numkeys key [key ...] [LIMIT limit].
//!
//! Redis's `zunionInterDiffGenericCommand`, step for step, because its order shows in results: plain
//! sets are inputs too (every member scores 1); inputs are taken smallest first (a stable sort by size)
//! for union and intersection, which decides the order of a sum; a weighted score that is NaN (0 × inf)
//! becomes 0, and so does a SUM of inf and -inf; an intersection's later inputs are not NaN-corrected
//! before aggregating. The result is ordered by (score, member). Checks come in Redis's order: numkeys,
//! then the type of every input, then the options.
//!
//! Where it runs:
//!
//! * Every key in one slot, STORE form: one mutation computes and stores (atomic).
//! * Keys on one core: computed from this core's store (the first input walked, the others probed by
//!   point reads for intersection and difference), then a STORE writes the destination — back to back on
//!   the core, so atomic.
//! * Keys on several cores (`spread`): every input is read whole on its core, the result computed here and
//!   a STORE written on the destination's core. Each input is read at one instant, but not all at the
//!   same instant, and the store comes after: **not atomic across cores**.

use std::cell::OnceCell;

use ahash::AHashMap;
use bytes::Bytes;
use resp::Reply;

use super::range::range_reply;
use super::read::Scored;
use super::score::parse_score_opt;
use super::sources::{fetch, input, Source};
use super::store::{replace, StoreOp};
use super::ZSetOp;
use crate::cmd::args::{is, parse_i64, parse_i64_opt};
use crate::cmd::collection::slot_of;
use crate::cmd::keys::remote;
use crate::cmd::{CmdError, Ctx, ReplyFuture, Spread};
use crate::statemachine::{LogEntry, Mutation, SlotWriter};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SetOpKind {
    Union,
    Inter,
    Diff,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Aggregate {
    Sum,
    Min,
    Max,
}

/// What to combine: inputs with their weights, and how.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Combine {
    pub kind: SetOpKind,
    pub keys: Vec<Bytes>,
    pub weights: Vec<f64>,
    pub aggregate: Aggregate,
}

/// Options after the keys.
struct Options {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    limit: u64,
}

/// A parsed command; option errors wait until the inputs' types are checked, as in Redis.
struct Parsed {
    kind: SetOpKind,
    keys: Vec<Bytes>,
    options: Result<Options, CmdError>,
}

fn combine(kind: SetOpKind, keys: &[Bytes], o: &Options) -> Combine {
    Combine {
        kind,
        keys: keys.to_vec(),
        weights: o.weights.clone().unwrap_or_else(|| vec![1.0; keys.len()]),
        aggregate: o.aggregate,
    }
}

/// The command's shape from its name: kind, whether it stores, whether it only counts.
fn shape(name: &[u8]) -> (SetOpKind, bool, bool) {
    let lower = name.to_ascii_lowercase();
    match &lower[..] {
        b"zunion" => (SetOpKind::Union, false, false),
        b"zinter" => (SetOpKind::Inter, false, false),
        b"zdiff" => (SetOpKind::Diff, false, false),
        b"zunionstore" => (SetOpKind::Union, true, false),
        b"zinterstore" => (SetOpKind::Inter, true, false),
        b"zdiffstore" => (SetOpKind::Diff, true, false),
        _ => (SetOpKind::Inter, false, true),
    }
}

fn parse(args: &[Bytes]) -> Result<Parsed, CmdError> {
    let (kind, store, card) = shape(&args[0]);
    let at = if store { 2 } else { 1 };
    let n = parse_i64(&args[at])?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            String::from_utf8_lossy(&args[0]).to_ascii_lowercase()
        )));
    }
    if n as u64 > (args.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let keys = args[at + 1..at + 1 + n].to_vec();
    let options = parse_options(&args[at + 1 + n..], n, kind, store, card);
    Ok(Parsed {
        kind,
        keys,
        options,
    })
}

fn parse_options(
    rest: &[Bytes],
    n: usize,
    kind: SetOpKind,
    store: bool,
    card: bool,
) -> Result<Options, CmdError> {
    let mut o = Options {
        weights: None,
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let weighted = kind != SetOpKind::Diff && !card;
    let mut j = 0;
    while j < rest.len() {
        let left = rest.len() - j;
        let a = &rest[j];
        if weighted && left > n && is(a, "weights") {
            let w = rest[j + 1..j + 1 + n]
                .iter()
                .map(|w| parse_score_opt(w).ok_or(CmdError::msg("ERR weight value is not a float")))
                .collect::<Result<Vec<_>, _>>()?;
            o.weights = Some(w);
            j += 1 + n;
        } else if weighted && left >= 2 && is(a, "aggregate") {
            let b = &rest[j + 1];
            o.aggregate = if is(b, "sum") {
                Aggregate::Sum
            } else if is(b, "min") {
                Aggregate::Min
            } else if is(b, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && !card && is(a, "withscores") {
            o.withscores = true;
            j += 1;
        } else if card && left >= 2 && is(a, "limit") {
            let limit = parse_i64_opt(&rest[j + 1])
                .filter(|&l| l >= 0)
                .ok_or(CmdError::msg("ERR LIMIT can't be negative"))?;
            o.limit = limit as u64;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(o)
}

fn aggregate(target: &mut f64, v: f64, how: Aggregate) {
    match how {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// Computes `c` over `sources` (in key order). With `limit` (ZINTERCARD) only counts, stopping at the
/// limit when it is not 0; the count is then the result's length and the members are not kept.
fn compute(
    c: &Combine,
    sources: &[Source<'_>],
    card: Option<u64>,
) -> Result<(Vec<Scored>, u64), CmdError> {
    let mut order: Vec<usize> = (0..sources.len()).collect();
    if c.kind != SetOpKind::Diff {
        order.sort_by_key(|&i| sources[i].len());
    }
    let mut out: Vec<Scored> = Vec::new();
    let mut counted = 0u64;
    match c.kind {
        SetOpKind::Union => {
            let mut acc: AHashMap<Bytes, f64> = AHashMap::new();
            for &i in &order {
                if sources[i].len() == 0 {
                    continue;
                }
                for (m, s) in sources[i].all()? {
                    let mut score = c.weights[i] * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&m) {
                        Some(t) => aggregate(t, score, c.aggregate),
                        None => {
                            acc.insert(m, score);
                        }
                    }
                }
            }
            out = acc.into_iter().collect();
        }
        SetOpKind::Inter => {
            let first = order[0];
            if sources[first].len() > 0 {
                'members: for (m, s) in sources[first].all()? {
                    let mut score = c.weights[first] * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for &j in &order[1..] {
                        match sources[j].find(&m)? {
                            Some(v) => aggregate(&mut score, v * c.weights[j], c.aggregate),
                            None => continue 'members,
                        }
                    }
                    counted += 1;
                    match card {
                        Some(limit) => {
                            if limit != 0 && counted >= limit {
                                break 'members;
                            }
                        }
                        None => out.push((m, score)),
                    }
                }
            }
        }
        SetOpKind::Diff => {
            let same_as_first = c.keys[1..].iter().any(|k| *k == c.keys[0]);
            if sources[0].len() > 0 && !same_as_first {
                'diff: for (m, s) in sources[0].all()? {
                    for src in &sources[1..] {
                        if src.len() > 0 && src.find(&m)?.is_some() {
                            continue 'diff;
                        }
                    }
                    out.push((m, s));
                }
            }
        }
    }
    if card.is_none() {
        out.sort_by(|a, b| a.1.total_cmp_zero(b.1).then_with(|| a.0.cmp(&b.0)));
        counted = out.len() as u64;
    }
    Ok((out, counted))
}

/// Score order as Redis's skiplist has it: numeric, with -0 and 0 equal (scores are never NaN).
trait ScoreOrd {
    fn total_cmp_zero(self, other: f64) -> std::cmp::Ordering;
}

impl ScoreOrd for f64 {
    fn total_cmp_zero(self, other: f64) -> std::cmp::Ordering {
        self.partial_cmp(&other)
            .unwrap_or(std::cmp::Ordering::Equal)
    }
}

/// The reply of a non-STORE command from its result.
fn reply(card: bool, o: &Options, result: Vec<Scored>, counted: u64) -> Reply {
    if card {
        Reply::Integer(counted as i64)
    } else {
        range_reply(result, o.withscores)
    }
}

/// Every key on this core.
pub fn local(ctx: &mut Ctx<'_>, args: &[Bytes]) -> Result<Reply, CmdError> {
    let Parsed {
        kind,
        keys,
        options,
    } = parse(args)?;
    let (_, store_form, card) = shape(&args[0]);
    let records = keys
        .iter()
        .map(|k| input(ctx.get(k)?))
        .collect::<Result<Vec<_>, CmdError>>()?;
    let o = options?;
    let c = combine(kind, &keys, &o);
    if store_form {
        let dst = &args[1];
        let slot = slot_of(dst);
        if keys.iter().all(|k| slot_of(k) == slot) {
            return ctx.propose(
                slot,
                Mutation::ZSet(ZSetOp::Combine {
                    dst: dst.clone(),
                    combine: c,
                }),
            );
        }
    }
    let store = &ctx.shard.store;
    let sources: Vec<Source<'_>> = keys
        .iter()
        .zip(records)
        .map(|(k, l)| match l {
            None => Source::Missing,
            Some(loaded) => Source::Stored {
                store,
                slot: slot_of(k),
                db: ctx.db,
                key: k,
                loaded,
            },
        })
        .collect();
    let (result, counted) = compute(&c, &sources, card.then_some(o.limit))?;
    drop(sources);
    if store_form {
        let dst = args[1].clone();
        let op = ZSetOp::Store(StoreOp {
            key: dst.clone(),
            members: result,
        });
        return ctx.propose(ctx.slot_of(&dst), Mutation::ZSet(op));
    }
    Ok(reply(card, &o, result, counted))
}

/// Inside one slot: the STORE form as one mutation.
pub fn apply_combine(w: &mut SlotWriter<'_>, dst: &Bytes, c: &Combine) -> Result<Reply, CmdError> {
    let mut records = Vec::with_capacity(c.keys.len());
    for k in &c.keys {
        records.push(input(w.get(k)?)?);
    }
    let (result, _) = {
        let store = w.store();
        let sources: Vec<Source<'_>> = c
            .keys
            .iter()
            .zip(records)
            .map(|(k, l)| match l {
                None => Source::Missing,
                Some(loaded) => Source::Stored {
                    store,
                    slot: w.slot,
                    db: w.db,
                    key: k,
                    loaded,
                },
            })
            .collect();
        compute(c, &sources, None)?
    };
    replace(w, dst, &result)
}

/// Keys on several cores: read every input on its core, compute here, store on the destination's core.
pub fn spread(s: Spread) -> ReplyFuture {
    Box::pin(async move {
        let run = async {
            let Parsed {
                kind,
                keys,
                options,
            } = parse(&s.args)?;
            let (_, store_form, card) = shape(&s.args[0]);
            // With an option error only the types matter (they are reported first).
            let fetched = fetch(&s, &keys, options.is_err()).await;
            let mut sources = Vec::with_capacity(fetched.len());
            for f in fetched {
                sources.push(match f? {
                    None => Source::Missing,
                    Some(members) => Source::Fetched {
                        members,
                        index: OnceCell::new(),
                    },
                });
            }
            let o = options?;
            let c = combine(kind, &keys, &o);
            let (result, counted) = compute(&c, &sources, card.then_some(o.limit))?;
            if !store_form {
                return Ok(reply(card, &o, result, counted));
            }
            let dst = s.args[1].clone();
            let entry = LogEntry {
                slot: slot_of(&dst),
                db: s.db,
                now_ms: s.now_ms,
                mutation: Mutation::ZSet(ZSetOp::Store(StoreOp {
                    key: dst,
                    members: result,
                })),
            };
            remote::propose_durable(&s.shard, entry).await
        };
        run.await.unwrap_or_else(|e: CmdError| e.to_reply())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetched(items: &[(&str, f64)]) -> Source<'static> {
        Source::Fetched {
            members: items
                .iter()
                .map(|(m, s)| (Bytes::copy_from_slice(m.as_bytes()), *s))
                .collect(),
            index: OnceCell::new(),
        }
    }

    fn run(
        kind: SetOpKind,
        weights: &[f64],
        agg: Aggregate,
        srcs: &[Source<'_>],
    ) -> Vec<(String, f64)> {
        let c = Combine {
            kind,
            keys: (0..srcs.len())
                .map(|i| Bytes::from(format!("k{i}")))
                .collect(),
            weights: weights.to_vec(),
            aggregate: agg,
        };
        compute(&c, srcs, None)
            .unwrap()
            .0
            .into_iter()
            .map(|(m, s)| (String::from_utf8(m.to_vec()).unwrap(), s))
            .collect()
    }

    #[test]
    fn infinities_sum_to_zero_and_nan_weights_to_zero() {
        let a = fetched(&[("x", f64::INFINITY)]);
        let b = fetched(&[("x", f64::NEG_INFINITY), ("y", 1.0)]);
        let r = run(SetOpKind::Union, &[1.0, 1.0], Aggregate::Sum, &[a, b]);
        assert_eq!(r, vec![("x".into(), 0.0), ("y".into(), 1.0)]);
        let a = fetched(&[("x", f64::INFINITY)]);
        let r = run(SetOpKind::Union, &[0.0], Aggregate::Sum, &[a]);
        assert_eq!(r, vec![("x".into(), 0.0)]);
    }

    #[test]
    fn intersection_and_difference() {
        let a = fetched(&[("x", 1.0), ("y", 2.0), ("z", 3.0)]);
        let b = fetched(&[("y", 10.0), ("z", 1.0)]);
        let r = run(SetOpKind::Inter, &[1.0, 2.0], Aggregate::Max, &[a, b]);
        assert_eq!(r, vec![("z".into(), 3.0), ("y".into(), 20.0)]);
        let a = fetched(&[("x", 1.0), ("y", 2.0), ("z", 3.0)]);
        let b = fetched(&[("y", 10.0)]);
        let r = run(SetOpKind::Diff, &[1.0, 1.0], Aggregate::Sum, &[a, b]);
        assert_eq!(r, vec![("x".into(), 1.0), ("z".into(), 3.0)]);
    }
}
