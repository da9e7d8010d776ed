//! What a read sees: the observation of every variable, as the runtime gives it and
//! as the model expects it.

use std::fmt;

use crate::vars::{CORE, D, D_DEFAULT, NV, VA, VAR_NAMES, VARS, VB, VD, VTX};

/// The bound value of each variable (`None`: not bound).
pub(crate) type Env = [Option<u64>; NV];

/// What one read observed: `try_get` (`None` for an error) and `is_bound` of each
/// variable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Obs {
    pub(crate) get: [Option<u64>; NV],
    pub(crate) bound: [bool; NV],
}

impl fmt::Debug for Obs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (var, name) in VAR_NAMES.iter().enumerate() {
            if var >= CORE && self.get[var].is_none() && !self.bound[var] {
                continue; // unbound extras are noise
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            match self.get[var] {
                Some(value) => write!(f, "{name}={value}")?,
                None => write!(f, "{name}=err")?,
            }
            if self.bound[var] != self.get[var].is_some() {
                f.write_str("(is_bound disagrees)")?;
            }
        }
        Ok(())
    }
}

/// What a read sees in `env`: the value, the default, or an error.
pub(crate) fn expected_obs(env: &Env) -> Obs {
    let mut defaults = [None; NV];
    defaults[3] = Some(D_DEFAULT);
    let mut obs = Obs {
        get: [None; NV],
        bound: [false; NV],
    };
    for var in 0..NV {
        obs.get[var] = env[var].or(defaults[var]);
        obs.bound[var] = obs.get[var].is_some();
    }
    obs
}

/// Marks an error that names the wrong variable, so it cannot match any expectation.
pub(crate) const WRONG_ERROR: u64 = u64::MAX;

pub(crate) fn checked<T>(
    result: Result<T, ctxvar::AccessError>,
    name: &str,
    value: impl Fn(T) -> u64,
) -> Option<u64> {
    match result {
        Ok(v) => Some(value(v)),
        Err(err) if err.name() == name => None,
        Err(_) => Some(WRONG_ERROR),
    }
}

/// Reads every variable with the runtime, through each read API.
pub(crate) fn observe() -> Obs {
    let d = D.get();
    let d_try = D.try_get().ok();
    let mut obs = Obs {
        get: [None; NV],
        bound: [false; NV],
    };
    for var in [VA, VB, VTX] {
        obs.get[var] = checked(VARS[var].try_read(), VAR_NAMES[var], |v| v);
    }
    // The infallible read of a variable with a default must agree with `try_get`.
    obs.get[VD] = if d_try == Some(d) {
        d_try
    } else {
        Some(WRONG_ERROR)
    };
    for (bound, var) in obs.bound[..CORE].iter_mut().zip(VARS) {
        *bound = var.is_bound();
    }
    for (var, name) in VAR_NAMES.iter().enumerate().skip(CORE) {
        obs.get[var] = checked(VARS[var].try_read(), name, |v| v);
        obs.bound[var] = VARS[var].is_bound();
    }
    obs
}
