//! `CrowdPrediction`: what a crowd simulation concluded about one source item
//! (SPEC section 2).

use serde::{Deserialize, Serialize};

use crate::datetime::Timestamp;
use crate::error::{DecodeError, ErrorCode, ValidationError};
use crate::json::write::{self, ObjectWriter};
use crate::json::{Json, Keep, Object};
use crate::lax::{self, LaxInt};
use crate::validate::{self, any, Errors, Fields, Path};

/// Most agents a crowd may have.
pub const MAX_AGENTS: u32 = 1_000_000;
/// Longest `source_id`, in code points.
pub const MAX_SOURCE_ID_CHARS: usize = 256;
/// Longest `question`, in code points.
pub const MAX_QUESTION_CHARS: usize = 2000;
/// Longest `rationale`, in code points.
pub const MAX_RATIONALE_CHARS: usize = 4000;
/// Most `drivers`.
pub const MAX_DRIVERS: usize = 16;
/// Longest driver, in code points.
pub const MAX_DRIVER_CHARS: usize = 280;

/// What the decoder reads of a crowd.
pub(crate) const CROWD_KEEP: Keep = Keep::Fields(&[
    ("agents", Keep::Scalar),
    ("bullish", Keep::Scalar),
    ("bearish", Keep::Scalar),
    ("neutral", Keep::Scalar),
]);

/// What the decoder reads of a prediction.
pub(crate) const KEEP: Keep = Keep::Fields(&[
    ("source_type", Keep::Scalar),
    ("source_id", Keep::Scalar),
    ("question", Keep::Scalar),
    ("probability", Keep::Scalar),
    ("confidence", Keep::Scalar),
    ("market_probability", Keep::Scalar),
    ("crowd", CROWD_KEEP),
    ("rationale", Keep::Scalar),
    // Past the limit, only the count matters (one `too_long` error).
    ("drivers", Keep::Items(MAX_DRIVERS, &Keep::Scalar)),
    ("resolves_at", Keep::Scalar),
    ("generated_at", Keep::Scalar),
]);

/// The kind of item a prediction is about; it picks the decision mapper.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub enum SourceType {
    /// A FOMO2 report; decided by [`crate::crowd_to_fomo2_signal`].
    Fomo2Report,
    /// A Polymarket market; decided by [`crate::crowd_to_polymarket_side`].
    PolymarketBet,
    /// An OddsOddy betting strategy; decided by [`crate::crowd_to_oddsoddy_multiplier`].
    OddsoddyStrategy,
}

lax::wire_names!(SourceType {
    Fomo2Report => "fomo2_report",
    PolymarketBet => "polymarket_bet",
    OddsoddyStrategy => "oddsoddy_strategy",
});

/// How the simulated agents split.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
pub struct Crowd {
    /// Agents in the simulation, 1 to 1,000,000.
    #[cfg_attr(feature = "schema", schemars(range(min = 1, max = 1_000_000)))]
    pub agents: u32,
    /// Agents leaning YES.
    pub bullish: u32,
    /// Agents leaning NO.
    pub bearish: u32,
    /// Agents leaning neither way.
    pub neutral: u32,
}

/// The synthesis of one crowd simulation (SPEC section 2).
///
/// [`CrowdPrediction::from_json`] reads the lax form Pydantic accepts and
/// validates it, and so does `Deserialize` (from any self-describing
/// format); [`CrowdPrediction::validate`] checks a value built in Rust.
/// `Serialize` writes the canonical wire form.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "wasm", derive(tsify::Tsify))]
// Fields with serde defaults come out optional in TypeScript, which is the
// input shape; `CrowdPrediction` there is `Required<>` of it (src/wasm/mod.rs).
#[cfg_attr(feature = "wasm", tsify(rename = "CrowdPredictionFields"))]
pub struct CrowdPrediction {
    /// What kind of item this is about.
    pub source_type: SourceType,
    /// The item's id in its source system: 1 to 256 code points, not blank.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 256), extend("pattern" = "\\S")))]
    pub source_id: String,
    /// The question the crowd answered: 1 to 2000 code points, not blank.
    #[cfg_attr(feature = "schema", schemars(length(min = 1, max = 2000), extend("pattern" = "\\S")))]
    pub question: String,
    /// The crowd's probability of YES (the bullish case), in [0, 1].
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 1.0)))]
    pub probability: f64,
    /// How sure the crowd is, in [0, 1].
    #[cfg_attr(feature = "schema", schemars(range(min = 0.0, max = 1.0)))]
    pub confidence: f64,
    /// The market's price of YES, in (0, 1), if there is a market.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(extend("exclusiveMinimum" = 0.0, "exclusiveMaximum" = 1.0))
    )]
    #[cfg_attr(feature = "wasm", tsify(type = "number | null"))]
    pub market_probability: Option<f64>,
    /// How the agents split.
    pub crowd: Crowd,
    /// Why, in at most 4000 code points.
    #[serde(default)]
    #[cfg_attr(feature = "schema", schemars(length(max = 4000)))]
    pub rationale: String,
    /// The main reasons, at most 16 of 1 to 280 code points each.
    #[serde(default)]
    #[cfg_attr(
        feature = "schema",
        schemars(length(max = 16), inner(length(min = 1, max = 280)))
    )]
    pub drivers: Vec<String>,
    /// When the question resolves, if known.
    #[serde(default)]
    #[cfg_attr(feature = "wasm", tsify(type = "string | null"))]
    pub resolves_at: Option<Timestamp>,
    /// When the simulation produced this prediction.
    #[cfg_attr(feature = "wasm", tsify(type = "string"))]
    pub generated_at: Timestamp,
}

/// Building a prediction in Rust.
///
/// ```
/// use crowd_envelope::{Crowd, CrowdPrediction, SourceType};
///
/// let prediction = CrowdPrediction::new(
///     SourceType::PolymarketBet, "0x5f3a9c", "Will the Fed cut rates in December?",
///     0.64, 0.77, Crowd::new(121, 55, 24),
/// )
/// .with_market_probability(0.52)
/// .with_drivers(["CPI cooled", "dovish minutes"]);
/// assert!(prediction.validate().is_ok());
/// assert_eq!(prediction.crowd.agents, 200);
/// ```
impl CrowdPrediction {
    /// A prediction of the required fields, generated now, with no market
    /// price, rationale, drivers or resolution date (the `with_*` methods
    /// set those). Checked by [`Self::validate`], and when an envelope is
    /// built from it.
    pub fn new(
        source_type: SourceType,
        source_id: impl Into<String>,
        question: impl Into<String>,
        probability: f64,
        confidence: f64,
        crowd: Crowd,
    ) -> CrowdPrediction {
        CrowdPrediction {
            source_type,
            source_id: source_id.into(),
            question: question.into(),
            probability,
            confidence,
            market_probability: None,
            crowd,
            rationale: String::new(),
            drivers: Vec::new(),
            resolves_at: None,
            generated_at: Timestamp::now(),
        }
    }

    /// With the market's price of YES.
    pub fn with_market_probability(mut self, market_probability: f64) -> CrowdPrediction {
        self.market_probability = Some(market_probability);
        self
    }

    /// With a rationale.
    pub fn with_rationale(mut self, rationale: impl Into<String>) -> CrowdPrediction {
        self.rationale = rationale.into();
        self
    }

    /// With drivers.
    pub fn with_drivers<S: Into<String>>(
        mut self,
        drivers: impl IntoIterator<Item = S>,
    ) -> CrowdPrediction {
        self.drivers = drivers.into_iter().map(Into::into).collect();
        self
    }

    /// With the date the question resolves.
    pub fn with_resolves_at(mut self, resolves_at: Timestamp) -> CrowdPrediction {
        self.resolves_at = Some(resolves_at);
        self
    }

    /// Generated at `generated_at` rather than now.
    pub fn with_generated_at(mut self, generated_at: Timestamp) -> CrowdPrediction {
        self.generated_at = generated_at;
        self
    }

    /// Reads a prediction from JSON text, as leniently as Pydantic v2 does
    /// (SPEC section 6), and validates it; paths in errors are relative to
    /// the prediction (`crowd.bullish`).
    ///
    /// ```
    /// use crowd_envelope::CrowdPrediction;
    /// let err = CrowdPrediction::from_json(r#"{"source_type": "fomo2_report"}"#).unwrap_err();
    /// assert_eq!(err.reason.as_str(), "invalid");
    /// assert!(err.errors.iter().any(|e| e.path == "probability"));
    /// ```
    pub fn from_json(text: &str) -> Result<CrowdPrediction, DecodeError> {
        let json = crate::json::parse_json(text, KEEP)?;
        let mut errors = Errors::default();
        let prediction = Self::from_json_value(&json, &Path::ROOT, &mut errors);
        Ok(errors.finish(prediction)?)
    }

    /// Checks every rule of SPEC section 2 and reports each failing field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = Errors::default();
        self.check(&Path::ROOT, &mut errors);
        errors.finish(Some(()))
    }

    /// The canonical JSON: what `serde_json` writes for the derived
    /// `Serialize`, written directly.
    pub(crate) fn write_json(&self, out: &mut String) {
        let mut o = ObjectWriter::new(out);
        o.plain("source_type", self.source_type.as_str());
        o.string("source_id", &self.source_id);
        o.string("question", &self.question);
        o.number("probability", self.probability);
        o.number("confidence", self.confidence);
        o.optional_number("market_probability", self.market_probability);
        let mut crowd = ObjectWriter::new(o.key("crowd"));
        crowd.integer("agents", self.crowd.agents);
        crowd.integer("bullish", self.crowd.bullish);
        crowd.integer("bearish", self.crowd.bearish);
        crowd.integer("neutral", self.crowd.neutral);
        crowd.end();
        o.string("rationale", &self.rationale);
        let drivers = o.key("drivers");
        drivers.push('[');
        for (i, driver) in self.drivers.iter().enumerate() {
            if i > 0 {
                drivers.push(',');
            }
            write::string(drivers, driver);
        }
        drivers.push(']');
        match self.resolves_at {
            Some(at) => o.plain("resolves_at", at),
            None => o.key("resolves_at").push_str("null"),
        }
        o.plain("generated_at", self.generated_at);
        o.end();
    }

    pub(crate) fn check(&self, path: &Path<'_>, errors: &mut Errors) {
        source_id_rule(&self.source_id, &path.key("source_id"), errors);
        question_rule(&self.question, &path.key("question"), errors);
        unit_rule(&self.probability, &path.key("probability"), errors);
        unit_rule(&self.confidence, &path.key("confidence"), errors);
        market_rule(
            &self.market_probability,
            &path.key("market_probability"),
            errors,
        );
        self.crowd.check(&path.key("crowd"), errors);
        rationale_rule(&self.rationale, &path.key("rationale"), errors);
        drivers_rule(&self.drivers, &path.key("drivers"), errors);
    }

    pub(crate) fn from_json_value(
        value: &Json<'_>,
        path: &Path<'_>,
        errors: &mut Errors,
    ) -> Option<CrowdPrediction> {
        let o = match validate::model(value) {
            Ok(object) => object,
            Err(failure) => {
                errors.push_failure(path, failure);
                return None;
            }
        };
        let f = Fields::new(o, path);
        let source_type = f.required(errors, "source_type", SourceType::from_json, any);
        let source_id = f.required(errors, "source_id", lax::owned_string, source_id_rule);
        let question = f.required(errors, "question", lax::owned_string, question_rule);
        let probability = f.required(errors, "probability", lax::finite_float, unit_rule);
        let confidence = f.required(errors, "confidence", lax::finite_float, unit_rule);
        let market_probability = f.optional(
            errors,
            "market_probability",
            lax::optional_finite_float,
            market_rule,
            || None,
        );
        let crowd = Crowd::from_json(o, path, errors);
        let rationale = f.optional(
            errors,
            "rationale",
            lax::owned_string,
            rationale_rule,
            String::new,
        );
        let drivers = drivers_from_json(o, path, errors);
        let resolves_at = f.optional(errors, "resolves_at", optional_timestamp, any, || None);
        let generated_at = f.required(errors, "generated_at", Timestamp::from_json, any);
        Some(CrowdPrediction {
            source_type: source_type?,
            source_id: source_id?,
            question: question?,
            probability: probability?,
            confidence: confidence?,
            market_probability: market_probability?,
            crowd: crowd?,
            rationale: rationale?,
            drivers: drivers?,
            resolves_at: resolves_at?,
            generated_at: generated_at?,
        })
    }
}

impl Crowd {
    /// A crowd of `bullish + bearish + neutral` agents.
    pub fn new(bullish: u32, bearish: u32, neutral: u32) -> Crowd {
        Crowd {
            agents: bullish.saturating_add(bearish).saturating_add(neutral),
            bullish,
            bearish,
            neutral,
        }
    }

    fn check(&self, path: &Path<'_>, errors: &mut Errors) {
        let before = errors.len();
        let agents = LaxInt::Small(self.agents.into());
        agents_rule(&agents, &path.key("agents"), errors);
        if errors.len() == before {
            let counts =
                [self.bullish, self.bearish, self.neutral].map(|n| LaxInt::Small(n.into()));
            check_sum(&agents, &counts, path, errors);
        }
    }

    fn from_json(parent: &Object<'_>, path: &Path<'_>, errors: &mut Errors) -> Option<Crowd> {
        let here = path.key("crowd");
        let object = match parent.get("crowd").map(validate::model) {
            None => {
                errors.missing(&here);
                return None;
            }
            Some(Err(failure)) => {
                errors.push_failure(&here, failure);
                return None;
            }
            Some(Ok(object)) => object,
        };
        let before = errors.len();
        let f = Fields::new(object, &here);
        let agents = f.required(errors, "agents", lax::integer, agents_rule);
        let bullish = f.required(errors, "bullish", lax::integer, count_rule);
        let bearish = f.required(errors, "bearish", lax::integer, count_rule);
        let neutral = f.required(errors, "neutral", lax::integer, count_rule);
        if errors.len() > before {
            return None;
        }
        let (agents, counts) = (agents?, [bullish?, bearish?, neutral?]);
        // As Pydantic's model validator: the sum is checked once every count is valid.
        if !check_sum(&agents, &counts, &here, errors) {
            return None;
        }
        let [bullish, bearish, neutral] = counts.map(|n| u32::try_from(n.saturated()).ok());
        Some(Crowd {
            agents: u32::try_from(agents.saturated()).ok()?,
            bullish: bullish?,
            bearish: bearish?,
            neutral: neutral?,
        })
    }
}

/// Whether the three counts (each >= 0) add up to `agents`; reports at the
/// crowd if not, with the numbers as written and their exact sum.
fn check_sum(agents: &LaxInt, counts: &[LaxInt; 3], path: &Path<'_>, errors: &mut Errors) -> bool {
    let sum = LaxInt::sum(counts);
    let adds_up = sum == *agents;
    if !adds_up {
        let [bullish, bearish, neutral] = counts;
        errors.push(
            path,
            ErrorCode::CrowdSumMismatch,
            format!(
                "expected bullish + bearish + neutral to equal agents ({agents}), found {bullish} + {bearish} + {neutral} = {sum}"
            ),
        );
    }
    adds_up
}

fn optional_timestamp(value: &Json<'_>) -> lax::Coerced<Option<Timestamp>> {
    match value {
        Json::Null => Ok(None),
        other => Timestamp::from_json(other).map(Some),
    }
}

/// The `drivers` member: every item that is not a string, and every string
/// that breaks a rule, is reported at its index.
fn drivers_from_json(
    object: &Object<'_>,
    path: &Path<'_>,
    errors: &mut Errors,
) -> Option<Vec<String>> {
    let here = path.key("drivers");
    let array = match object.get("drivers") {
        None => return Some(Vec::new()),
        Some(Json::Array(array)) => array,
        Some(other) => {
            errors.push_failure(
                &here,
                lax::expected(ErrorCode::ListType, "an array of strings", other),
            );
            return None;
        }
    };
    if array.len > MAX_DRIVERS {
        too_many_drivers(array.len, &here, errors);
        return None;
    }
    let mut all_strings = true;
    let mut drivers = Vec::with_capacity(array.len);
    for (i, item) in array.items.iter().enumerate() {
        match lax::string(item) {
            Ok(driver) => {
                driver_rule(driver, &here.index(i), errors);
                drivers.push(driver.to_owned());
            }
            Err(failure) => {
                errors.push_failure(&here.index(i), failure);
                all_strings = false;
            }
        }
    }
    all_strings.then_some(drivers)
}

// `&String` because rules are `Fn(&T, ..)` with `T` the coerced type.
#[allow(clippy::ptr_arg)]
fn source_id_rule(s: &String, path: &Path<'_>, errors: &mut Errors) {
    validate::text(s, 1, MAX_SOURCE_ID_CHARS, true, path, errors);
}

// `&String` because rules are `Fn(&T, ..)` with `T` the coerced type.
#[allow(clippy::ptr_arg)]
fn question_rule(s: &String, path: &Path<'_>, errors: &mut Errors) {
    validate::text(s, 1, MAX_QUESTION_CHARS, true, path, errors);
}

// `&String` because rules are `Fn(&T, ..)` with `T` the coerced type.
#[allow(clippy::ptr_arg)]
fn rationale_rule(s: &String, path: &Path<'_>, errors: &mut Errors) {
    validate::text(s, 0, MAX_RATIONALE_CHARS, false, path, errors);
}

fn unit_rule(x: &f64, path: &Path<'_>, errors: &mut Errors) {
    validate::in_closed_range(*x, 0.0, 1.0, path, errors);
}

fn market_rule(m: &Option<f64>, path: &Path<'_>, errors: &mut Errors) {
    let Some(m) = *m else { return };
    // NaN and infinities reach here only from values built in Rust.
    let code = if !m.is_finite() {
        ErrorCode::FiniteNumber
    } else if m <= 0.0 {
        ErrorCode::GreaterThan
    } else if m >= 1.0 {
        ErrorCode::LessThan
    } else {
        return;
    };
    errors.push(
        path,
        code,
        format!(
            "expected a number strictly between 0 and 1, or null, found {}",
            crate::float::debug(m)
        ),
    );
}

fn agents_rule(n: &LaxInt, path: &Path<'_>, errors: &mut Errors) {
    let code = match n.saturated() {
        ..1 => ErrorCode::GreaterThanEqual,
        x if x > i64::from(MAX_AGENTS) => ErrorCode::LessThanEqual,
        _ => return,
    };
    errors.push(
        path,
        code,
        format!("expected an integer from 1 to {MAX_AGENTS}, found {n}"),
    );
}

fn count_rule(n: &LaxInt, path: &Path<'_>, errors: &mut Errors) {
    if n.saturated() < 0 {
        errors.push(
            path,
            ErrorCode::GreaterThanEqual,
            format!("expected an integer >= 0, found {n}"),
        );
    }
}

/// Too many drivers is one error; Pydantic then checks no item, nor do we.
fn drivers_rule(drivers: &[String], path: &Path<'_>, errors: &mut Errors) {
    if drivers.len() > MAX_DRIVERS {
        return too_many_drivers(drivers.len(), path, errors);
    }
    for (i, driver) in drivers.iter().enumerate() {
        driver_rule(driver, &path.index(i), errors);
    }
}

fn too_many_drivers(count: usize, path: &Path<'_>, errors: &mut Errors) {
    errors.push(
        path,
        ErrorCode::TooLong,
        format!("expected at most {MAX_DRIVERS} drivers, found {count}"),
    );
}

fn driver_rule(driver: &str, path: &Path<'_>, errors: &mut Errors) {
    validate::text(driver, 1, MAX_DRIVER_CHARS, false, path, errors);
}
