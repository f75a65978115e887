//! The Lua scripts `crowd_envelope.redis` runs: the text Rust runs, put
//! together as src/redis/scripts.rs does (each after bounded.lua, but
//! settle.lua, which reads no entry), as npm's scripts/pkg-sources.mjs does.

use pyo3::prelude::*;

macro_rules! bounded_script {
    ($file:literal) => {
        concat!(
            include_str!("../../src/redis/bounded.lua"),
            include_str!(concat!("../../src/redis/", $file))
        )
    };
}

/// Adds the scripts to the module, by the names `_native.pyi` declares.
pub(crate) fn add(m: &Bound<'_, PyModule>) -> PyResult<()> {
    for (name, text) in [
        ("FOLLOW_SCRIPT", bounded_script!("follow.lua")),
        ("RANGE_SCRIPT", bounded_script!("range.lua")),
        ("GROUP_CREATE_SCRIPT", bounded_script!("group/create.lua")),
        ("GROUP_READ_SCRIPT", bounded_script!("group/read.lua")),
        ("GROUP_TAKE_SCRIPT", bounded_script!("group/take.lua")),
        ("GROUP_CLAIM_SCRIPT", bounded_script!("group/claim.lua")),
        (
            "GROUP_SETTLE_SCRIPT",
            include_str!("../../src/redis/group/settle.lua"),
        ),
    ] {
        m.add(name, text)?;
    }
    Ok(())
}
