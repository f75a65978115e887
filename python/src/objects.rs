//! The frozen objects the package hands out: `CrowdPredictionEnvelope` and
//! `CrowdPrediction`, with the original Pydantic models' attribute names,
//! and a decision as the dataclass of its kind (`crowd_envelope._json`).

use crowd_envelope::{self as codec, CrowdPrediction, CrowdPredictionEnvelope, Decision};
use pyo3::prelude::*;

use crate::{datetime, from_json, to_json_text};

/// A decoded or built envelope, frozen.
#[pyclass(frozen, module = "crowd_envelope", name = "CrowdPredictionEnvelope")]
pub(crate) struct Envelope(pub(crate) CrowdPredictionEnvelope);

#[pymethods]
impl Envelope {
    #[getter]
    fn schema_version(&self) -> &'static str {
        codec::SCHEMA_VERSION
    }

    #[getter]
    fn arena(&self) -> &'static str {
        codec::ARENA
    }

    #[getter]
    fn prediction(&self) -> Prediction {
        Prediction(self.0.prediction.clone())
    }

    #[getter]
    fn decision<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        decision_object(py, &self.0.decision)
    }

    #[getter]
    fn decision_kind(&self) -> &'static str {
        self.0.decision.kind().as_str()
    }

    #[getter]
    fn published_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.published_at)
    }

    #[getter]
    fn correlation_id(&self) -> &str {
        &self.0.correlation_id
    }

    #[getter]
    fn meta<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        from_json(py, self.0.meta.as_json())
    }

    /// The canonical encoding (SPEC section 4), as `encode_envelope` gives it.
    fn to_json(&self) -> String {
        self.0.to_json()
    }

    /// The wire shape as plain Python values (`json.loads(to_json())`).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        from_json(py, &self.0.to_json())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Envelope>()
            .is_ok_and(|other| other.get().0 == self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "CrowdPredictionEnvelope(decision_kind={:?}, correlation_id={:?}, published_at={:?})",
            self.decision_kind(),
            self.0.correlation_id,
            self.0.published_at.to_string()
        )
    }
}

/// A validated prediction, frozen.
#[pyclass(frozen, module = "crowd_envelope", name = "CrowdPrediction")]
pub(crate) struct Prediction(pub(crate) CrowdPrediction);

#[pymethods]
impl Prediction {
    #[getter]
    fn source_type(&self) -> &'static str {
        self.0.source_type.as_str()
    }

    #[getter]
    fn source_id(&self) -> &str {
        &self.0.source_id
    }

    #[getter]
    fn question(&self) -> &str {
        &self.0.question
    }

    #[getter]
    fn probability(&self) -> f64 {
        self.0.probability
    }

    #[getter]
    fn confidence(&self) -> f64 {
        self.0.confidence
    }

    #[getter]
    fn market_probability(&self) -> Option<f64> {
        self.0.market_probability
    }

    #[getter]
    fn crowd<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let crowd = self.0.crowd;
        let module = py.import("crowd_envelope._json")?;
        module
            .getattr("Crowd")?
            .call1((crowd.agents, crowd.bullish, crowd.bearish, crowd.neutral))
    }

    #[getter]
    fn rationale(&self) -> &str {
        &self.0.rationale
    }

    #[getter]
    fn drivers(&self) -> Vec<String> {
        self.0.drivers.clone()
    }

    #[getter]
    fn resolves_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.0.resolves_at.map(|at| datetime(py, at)).transpose()
    }

    #[getter]
    fn generated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        datetime(py, self.0.generated_at)
    }

    /// The canonical JSON of the prediction.
    fn to_json(&self) -> String {
        to_json_text(&self.0)
    }

    /// The wire shape as plain Python values.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        from_json(py, &to_json_text(&self.0))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Prediction>()
            .is_ok_and(|other| other.get().0 == self.0)
    }

    fn __repr__(&self) -> String {
        format!(
            "CrowdPrediction(source_type={:?}, source_id={:?}, probability={:?})",
            self.source_type(),
            self.0.source_id,
            self.0.probability
        )
    }
}

/// A decision as the package's frozen dataclass of its kind.
pub(crate) fn decision_object<'py>(
    py: Python<'py>,
    decision: &Decision,
) -> PyResult<Bound<'py, PyAny>> {
    let module = py.import("crowd_envelope._json")?;
    match decision {
        Decision::Fomo2Signal(d) => {
            module
                .getattr("Fomo2Signal")?
                .call1((d.action.as_str(), d.strength, d.reason.as_str()))
        }
        Decision::PolymarketSide(d) => module.getattr("PolymarketSide")?.call1((
            d.side.as_str(),
            d.edge,
            d.price,
            d.stake_fraction,
            d.reason.as_str(),
        )),
        Decision::OddsoddyMultiplier(d) => module
            .getattr("OddsoddyMultiplier")?
            .call1((d.multiplier, d.reason.as_str())),
    }
}
