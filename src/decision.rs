//! The three consumers' decisions and the pure mappers that make them from a
//! prediction (SPEC section 3).
//!
//! Every formula uses only IEEE-754 `+ - * /`, comparisons, `abs`, `min` and
//! `max`, in the order SPEC writes them, so native code, wasm and Python give
//! the same bits. Reorder nothing here.

use serde::{Deserialize, Serialize};

use crate::json::write::ObjectWriter;
use crate::json::{Json, Keep, Object};
use crate::lax;
use crate::prediction::{CrowdPrediction, SourceType};
use crate::validate::{self, any, Errors, Fields, Path};

/// Below this confidence every mapper holds back.
pub const MIN_CONFIDENCE: f64 = 0.5;
/// The FOMO2 score a buy or sell needs.
pub const FOMO2_THRESHOLD: f64 = 0.2;
/// The smallest edge over the market that Polymarket bets on.
pub const POLYMARKET_MIN_EDGE: f64 = 0.05;
/// The largest Polymarket stake, as a fraction of the bankroll.
pub const POLYMARKET_MAX_STAKE: f64 = 0.25;
/// The largest OddsOddy stake multiplier.
pub const ODDSODDY_MAX_MULTIPLIER: f64 = 2.0;

/// A FOMO2 trading action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum Fomo2Action {
    /// Go long.
    Buy,
    /// Go short.
    Sell,
    /// Do nothing.
    Hold,
}

lax::wire_names!(Fomo2Action {
    Buy => "buy",
    Sell => "sell",
    Hold => "hold",
});

/// The decision for a `fomo2_report` (`decision_kind` `fomo2_signal`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct Fomo2Signal {
    /// What to do.
    pub action: Fomo2Action,
    /// `|score|`, in [0, 1].
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 1.0)))]
    pub strength: f64,
    /// Why, e.g. `crowd_bullish`.
    pub reason: String,
}

/// Which side of a Polymarket market to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum Side {
    /// Buy YES.
    Yes,
    /// Buy NO.
    No,
    /// Stay out.
    Abstain,
}

lax::wire_names!(Side {
    Yes => "yes",
    No => "no",
    Abstain => "abstain",
});

/// The decision for a `polymarket_bet` (`decision_kind` `polymarket_side`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct PolymarketSide {
    /// The side to take.
    pub side: Side,
    /// `p - m`; null only when there is no market price.
    #[cfg_attr(feature = "wasm", tsify(type = "number | null"))]
    pub edge: Option<f64>,
    /// The price paid for the chosen side, in [0, 1]; null when abstaining.
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 1.0)))]
    #[cfg_attr(feature = "wasm", tsify(type = "number | null"))]
    pub price: Option<f64>,
    /// Half-Kelly stake, capped, in [0, 0.25].
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 0.25)))]
    pub stake_fraction: f64,
    /// Why, e.g. `crowd_above_market`.
    pub reason: String,
}

/// The decision for an `oddsoddy_strategy` (`decision_kind` `oddsoddy_multiplier`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct OddsoddyMultiplier {
    /// Stake multiplier, in [0, 2].
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 2.0)))]
    pub multiplier: f64,
    /// Why, e.g. `value_bet`.
    pub reason: String,
}

/// Names which decision an envelope carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum DecisionKind {
    /// A [`Fomo2Signal`].
    Fomo2Signal,
    /// A [`PolymarketSide`].
    PolymarketSide,
    /// An [`OddsoddyMultiplier`].
    OddsoddyMultiplier,
}

lax::wire_names!(DecisionKind {
    Fomo2Signal => "fomo2_signal",
    PolymarketSide => "polymarket_side",
    OddsoddyMultiplier => "oddsoddy_multiplier",
});

impl DecisionKind {
    /// The kind SPEC section 3 pairs with a source type.
    pub fn for_source(source_type: SourceType) -> DecisionKind {
        match source_type {
            SourceType::Fomo2Report => DecisionKind::Fomo2Signal,
            SourceType::PolymarketBet => DecisionKind::PolymarketSide,
            SourceType::OddsoddyStrategy => DecisionKind::OddsoddyMultiplier,
        }
    }
}

/// One of the three decisions; its variant is the envelope's `decision_kind`.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// For `fomo2_report` predictions.
    Fomo2Signal(Fomo2Signal),
    /// For `polymarket_bet` predictions.
    PolymarketSide(PolymarketSide),
    /// For `oddsoddy_strategy` predictions.
    OddsoddyMultiplier(OddsoddyMultiplier),
}

impl Decision {
    /// Which decision this is.
    pub fn kind(&self) -> DecisionKind {
        match self {
            Decision::Fomo2Signal(_) => DecisionKind::Fomo2Signal,
            Decision::PolymarketSide(_) => DecisionKind::PolymarketSide,
            Decision::OddsoddyMultiplier(_) => DecisionKind::OddsoddyMultiplier,
        }
    }

    /// The decision in a few words, as `tail` and the dashboard show it:
    /// `buy 0.36`, `yes, edge +0.200, stake 0.160`, `abstain, edge -0.010`,
    /// `abstain` (no market price), `×1.04`.
    ///
    /// ```
    /// use crowd_envelope::{Decision, PolymarketSide, Side};
    ///
    /// let bet = Decision::PolymarketSide(PolymarketSide {
    ///     side: Side::No, edge: Some(-0.44), price: Some(0.6),
    ///     stake_fraction: 0.25, reason: "crowd_below_market".into(),
    /// });
    /// assert_eq!(bet.summary(), "no, edge -0.440, stake 0.250");
    /// ```
    pub fn summary(&self) -> String {
        match self {
            Decision::Fomo2Signal(d) => format!("{} {}", d.action.as_str(), fixed(d.strength, 2)),
            Decision::PolymarketSide(d) => match (d.side, d.edge) {
                (_, None) => d.side.as_str().to_owned(),
                (Side::Abstain, Some(edge)) => format!("abstain, edge {}", signed(edge)),
                (side, Some(edge)) => format!(
                    "{}, edge {}, stake {}",
                    side.as_str(),
                    signed(edge),
                    fixed(d.stake_fraction, 3)
                ),
            },
            Decision::OddsoddyMultiplier(d) => format!("×{}", fixed(d.multiplier, 2)),
        }
    }

    /// The decision's reason string.
    pub fn reason(&self) -> &str {
        match self {
            Decision::Fomo2Signal(d) => &d.reason,
            Decision::PolymarketSide(d) => &d.reason,
            Decision::OddsoddyMultiplier(d) => &d.reason,
        }
    }

    /// Equal field by field, floats compared bit for bit (so `-0.0` and
    /// `0.0` differ, as they do on the wire).
    pub fn bit_identical(&self, other: &Decision) -> bool {
        fn same(a: f64, b: f64) -> bool {
            a.to_bits() == b.to_bits()
        }
        fn same_opt(a: Option<f64>, b: Option<f64>) -> bool {
            match (a, b) {
                (Some(a), Some(b)) => same(a, b),
                (None, None) => true,
                _ => false,
            }
        }
        match (self, other) {
            (Decision::Fomo2Signal(a), Decision::Fomo2Signal(b)) => {
                a.action == b.action && same(a.strength, b.strength) && a.reason == b.reason
            }
            (Decision::PolymarketSide(a), Decision::PolymarketSide(b)) => {
                a.side == b.side
                    && same_opt(a.edge, b.edge)
                    && same_opt(a.price, b.price)
                    && same(a.stake_fraction, b.stake_fraction)
                    && a.reason == b.reason
            }
            (Decision::OddsoddyMultiplier(a), Decision::OddsoddyMultiplier(b)) => {
                same(a.multiplier, b.multiplier) && a.reason == b.reason
            }
            _ => false,
        }
    }

    /// The canonical JSON: what `serde_json` writes for the derived
    /// `Serialize`, written directly.
    pub(crate) fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        match self {
            Decision::Fomo2Signal(d) => {
                o.plain("action", d.action.as_str());
                o.number("strength", d.strength);
                o.string("reason", &d.reason);
            }
            Decision::PolymarketSide(d) => {
                o.plain("side", d.side.as_str());
                o.optional_number("edge", d.edge);
                o.optional_number("price", d.price);
                o.number("stake_fraction", d.stake_fraction);
                o.string("reason", &d.reason);
            }
            Decision::OddsoddyMultiplier(d) => {
                o.number("multiplier", d.multiplier);
                o.string("reason", &d.reason);
            }
        }
        o.end();
    }

    /// Checks the ranges of SPEC section 4 on a decision built in Rust.
    pub(crate) fn check(&self, path: &Path<'_>, errors: &mut Errors) {
        match self {
            Decision::Fomo2Signal(d) => strength_rule(&d.strength, &path.key("strength"), errors),
            Decision::PolymarketSide(d) => {
                price_rule(&d.price, &path.key("price"), errors);
                stake_rule(&d.stake_fraction, &path.key("stake_fraction"), errors);
            }
            Decision::OddsoddyMultiplier(d) => {
                multiplier_rule(&d.multiplier, &path.key("multiplier"), errors)
            }
        }
    }

    /// Reads the `decision` object for `kind`, leniently, and checks it.
    pub(crate) fn from_json(
        kind: DecisionKind,
        value: &Json<'_>,
        path: &Path<'_>,
        errors: &mut Errors,
    ) -> Option<Decision> {
        let o = match validate::dict(value) {
            Ok(object) => object,
            Err(failure) => {
                errors.push_failure(path, failure);
                return None;
            }
        };
        match kind {
            DecisionKind::Fomo2Signal => {
                fomo2_from_json(o, path, errors).map(Decision::Fomo2Signal)
            }
            DecisionKind::PolymarketSide => {
                polymarket_from_json(o, path, errors).map(Decision::PolymarketSide)
            }
            DecisionKind::OddsoddyMultiplier => {
                oddsoddy_from_json(o, path, errors).map(Decision::OddsoddyMultiplier)
            }
        }
    }
}

/// `x` with `digits` decimals, rounded half away from zero, in integer
/// arithmetic: Rust's own float formatting would add kilobytes to the wasm,
/// and a summary is only for reading (decision values are small and finite).
fn fixed(x: f64, digits: u32) -> String {
    let scale = 10_i64.pow(digits);
    // Decision values are at most 2 in magnitude: far inside i64.
    let scaled = (x * scale as f64).round() as i64;
    let sign = if scaled < 0 { "-" } else { "" };
    let units = scaled.unsigned_abs();
    let scale = scale.unsigned_abs();
    format!(
        "{sign}{}.{:0width$}",
        units / scale,
        units % scale,
        width = digits as usize
    )
}

/// [`fixed`] to three decimals with a sign: `+0.200`, `-0.440`.
fn signed(x: f64) -> String {
    let text = fixed(x, 3);
    if text.starts_with('-') {
        text
    } else {
        format!("+{text}")
    }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Decision::Fomo2Signal(d) => d.serialize(serializer),
            Decision::PolymarketSide(d) => d.serialize(serializer),
            Decision::OddsoddyMultiplier(d) => d.serialize(serializer),
        }
    }
}

/// What the decoder reads of a `decision`: the fields of all three kinds,
/// since `decision_kind` may come after it.
pub(crate) const KEEP: Keep = Keep::Fields(&[
    ("action", Keep::Scalar),
    ("strength", Keep::Scalar),
    ("side", Keep::Scalar),
    ("edge", Keep::Scalar),
    ("price", Keep::Scalar),
    ("stake_fraction", Keep::Scalar),
    ("multiplier", Keep::Scalar),
    ("reason", Keep::Scalar),
]);

fn fomo2_from_json(o: &Object<'_>, path: &Path<'_>, errors: &mut Errors) -> Option<Fomo2Signal> {
    let f = Fields::new(o, path);
    let action = f.required(errors, "action", Fomo2Action::from_json, any);
    let strength = f.required(errors, "strength", lax::finite_float, strength_rule);
    let reason = f.required(errors, "reason", lax::owned_string, any);
    Some(Fomo2Signal {
        action: action?,
        strength: strength?,
        reason: reason?,
    })
}

fn polymarket_from_json(
    o: &Object<'_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<PolymarketSide> {
    let f = Fields::new(o, path);
    let side = f.required(errors, "side", Side::from_json, any);
    let edge = f.required(errors, "edge", lax::optional_finite_float, any);
    let price = f.required(errors, "price", lax::optional_finite_float, price_rule);
    let stake_fraction = f.required(errors, "stake_fraction", lax::finite_float, stake_rule);
    let reason = f.required(errors, "reason", lax::owned_string, any);
    Some(PolymarketSide {
        side: side?,
        edge: edge?,
        price: price?,
        stake_fraction: stake_fraction?,
        reason: reason?,
    })
}

fn oddsoddy_from_json(
    o: &Object<'_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<OddsoddyMultiplier> {
    let f = Fields::new(o, path);
    let multiplier = f.required(errors, "multiplier", lax::finite_float, multiplier_rule);
    let reason = f.required(errors, "reason", lax::owned_string, any);
    Some(OddsoddyMultiplier {
        multiplier: multiplier?,
        reason: reason?,
    })
}

fn strength_rule(x: &f64, path: &Path<'_>, errors: &mut Errors) {
    validate::in_closed_range(*x, 0.0, 1.0, path, errors);
}

fn price_rule(x: &Option<f64>, path: &Path<'_>, errors: &mut Errors) {
    if let Some(x) = *x {
        validate::in_closed_range(x, 0.0, 1.0, path, errors);
    }
}

fn stake_rule(x: &f64, path: &Path<'_>, errors: &mut Errors) {
    validate::in_closed_range(*x, 0.0, POLYMARKET_MAX_STAKE, path, errors);
}

fn multiplier_rule(x: &f64, path: &Path<'_>, errors: &mut Errors) {
    validate::in_closed_range(*x, 0.0, ODDSODDY_MAX_MULTIPLIER, path, errors);
}

/// SPEC 3.1: a trading signal from the crowd's lean and confidence.
///
/// ```
/// # use crowd_envelope::*;
/// # let mut p: CrowdPrediction = serde_json::from_str(r#"{"source_type":"fomo2_report","source_id":"r-1","question":"Up?","probability":0.8,"confidence":0.9,"crowd":{"agents":10,"bullish":7,"bearish":2,"neutral":1},"generated_at":"2026-01-01T00:00:00Z"}"#).unwrap();
/// let signal = crowd_to_fomo2_signal(&p);
/// assert_eq!(signal.action, Fomo2Action::Buy);
/// assert_eq!(signal.reason, "crowd_bullish");
/// ```
pub fn crowd_to_fomo2_signal(prediction: &CrowdPrediction) -> Fomo2Signal {
    let p = prediction.probability;
    let c = prediction.confidence;
    let crowd = &prediction.crowd;
    let score = (2.0 * p - 1.0) * c;
    let strength = score.abs();
    let (action, reason) = if c < MIN_CONFIDENCE {
        (Fomo2Action::Hold, "low_confidence")
    } else if score >= FOMO2_THRESHOLD {
        if crowd.bullish >= crowd.bearish {
            (Fomo2Action::Buy, "crowd_bullish")
        } else {
            (Fomo2Action::Hold, "crowd_split")
        }
    } else if score <= -FOMO2_THRESHOLD {
        if crowd.bearish >= crowd.bullish {
            (Fomo2Action::Sell, "crowd_bearish")
        } else {
            (Fomo2Action::Hold, "crowd_split")
        }
    } else {
        (Fomo2Action::Hold, "no_clear_direction")
    };
    Fomo2Signal {
        action,
        strength,
        reason: reason.to_owned(),
    }
}

/// SPEC 3.2: which side of the market to take, and a capped half-Kelly stake.
pub fn crowd_to_polymarket_side(prediction: &CrowdPrediction) -> PolymarketSide {
    let p = prediction.probability;
    let c = prediction.confidence;
    let abstain = |edge: Option<f64>, reason: &str| PolymarketSide {
        side: Side::Abstain,
        edge,
        price: None,
        stake_fraction: 0.0,
        reason: reason.to_owned(),
    };
    let Some(m) = prediction.market_probability else {
        return abstain(None, "no_market_price");
    };
    let edge = p - m;
    if c < MIN_CONFIDENCE {
        return abstain(Some(edge), "low_confidence");
    }
    if edge.abs() < POLYMARKET_MIN_EDGE {
        return abstain(Some(edge), "edge_below_threshold");
    }
    let (side, reason, price, kelly) = if edge > 0.0 {
        (Side::Yes, "crowd_above_market", m, (p - m) / (1.0 - m))
    } else {
        (Side::No, "crowd_below_market", 1.0 - m, (m - p) / m)
    };
    PolymarketSide {
        side,
        edge: Some(edge),
        price: Some(price),
        stake_fraction: py_min(POLYMARKET_MAX_STAKE, 0.5 * c * kelly),
        reason: reason.to_owned(),
    }
}

/// SPEC 3.3: a stake multiplier from the crowd's value over the odds.
pub fn crowd_to_oddsoddy_multiplier(prediction: &CrowdPrediction) -> OddsoddyMultiplier {
    let p = prediction.probability;
    let c = prediction.confidence;
    if c < MIN_CONFIDENCE {
        return OddsoddyMultiplier {
            multiplier: 1.0,
            reason: "low_confidence".to_owned(),
        };
    }
    let value = match prediction.market_probability {
        Some(m) => p / m,
        None => 2.0 * p,
    };
    let multiplier = py_min(
        ODDSODDY_MAX_MULTIPLIER,
        py_max(0.0, 1.0 + c * (value - 1.0)),
    );
    let reason = if multiplier > 1.0 {
        "value_bet"
    } else if multiplier < 1.0 {
        "negative_value"
    } else {
        "neutral"
    };
    OddsoddyMultiplier {
        multiplier,
        reason: reason.to_owned(),
    }
}

/// Python's `min(a, b)`: `a` unless `b` is smaller. Spelled out because
/// IEEE `minNum` may pick either zero of `min(0.0, -0.0)`.
fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `a` unless `b` is larger.
fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// Runs the mapper that SPEC section 3 pairs with the prediction's source type.
pub fn decide(prediction: &CrowdPrediction) -> Decision {
    match prediction.source_type {
        SourceType::Fomo2Report => Decision::Fomo2Signal(crowd_to_fomo2_signal(prediction)),
        SourceType::PolymarketBet => Decision::PolymarketSide(crowd_to_polymarket_side(prediction)),
        SourceType::OddsoddyStrategy => {
            Decision::OddsoddyMultiplier(crowd_to_oddsoddy_multiplier(prediction))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn fixed_decimals_round_half_away_from_zero() {
        assert_eq!(fixed(0.2, 3), "0.200");
        assert_eq!(fixed(0.125, 2), "0.13");
        assert_eq!(fixed(-0.44000000000000006, 3), "-0.440");
        assert_eq!(fixed(2.0, 2), "2.00");
        assert_eq!(signed(0.2), "+0.200");
        assert_eq!(signed(-0.0001), "+0.000");
        assert_eq!(signed(-0.0006), "-0.001");
    }
}
