//! The detector's and the trend's findings as the API's documents.

use hashbrown::HashMap;
use seer_ci_api::{CarrierJson, ChangePointJson, FrameChangeJson, MovedJson, TotalChangeJson};

use super::{Carrier, FrameChange, Moved, TotalChange};

/// A frame's name, or its id when the name is unknown.
pub fn frame_name(names: &HashMap<i64, String>, frame: i64) -> String {
    names.get(&frame).cloned().unwrap_or_else(|| format!("(frame {frame})"))
}

impl super::Comparison {
    /// Every frame the comparison names: its changes, their carriers, what moved and where.
    pub fn frames(&self) -> impl Iterator<Item = i64> + '_ {
        let changes = self.regressions.iter().chain(&self.improvements).flat_map(FrameChange::frames);
        changes.chain(self.moved.iter().flat_map(|m| [m.frame, m.caller]))
    }
}

impl FrameChange {
    /// The frames this change names: itself and its carriers.
    pub fn frames(&self) -> impl Iterator<Item = i64> + '_ {
        std::iter::once(self.frame).chain(self.carriers.iter().map(|c| c.frame))
    }

    /// The document of one function's change, named from `names`.
    pub fn to_json(&self, names: &HashMap<i64, String>) -> FrameChangeJson {
        FrameChangeJson {
            frame: frame_name(names, self.frame),
            measure: self.measure.as_str().to_string(),
            base_share: self.base_self,
            head_share: self.head_self,
            base_inclusive: self.base_inclusive,
            head_inclusive: self.head_inclusive,
            base_cost: self.base_cost,
            head_cost: self.head_cost,
            change: self.change.is_finite().then_some(self.change),
            p_value: self.p_value,
            q_value: self.q_value,
            carried_by: self.carriers.iter().map(|c| c.to_json(names)).collect(),
        }
    }
}

impl Carrier {
    pub fn to_json(&self, names: &HashMap<i64, String>) -> CarrierJson {
        CarrierJson {
            frame: frame_name(names, self.frame),
            base_share: self.base_self,
            head_share: self.head_self,
            base_inclusive: self.base_inclusive,
            head_inclusive: self.head_inclusive,
            base_within: self.base_within,
            head_within: self.head_within,
        }
    }
}

impl Moved {
    pub fn to_json(&self, names: &HashMap<i64, String>) -> MovedJson {
        MovedJson {
            frame: frame_name(names, self.frame),
            caller: frame_name(names, self.caller),
            direction: if self.inlined { "into" } else { "out of" }.to_string(),
            share: self.share,
        }
    }
}

impl From<&TotalChange> for TotalChangeJson {
    fn from(t: &TotalChange) -> TotalChangeJson {
        TotalChangeJson { base_samples: t.base_mean, head_samples: t.head_mean, change: t.change, p_value: t.p_value }
    }
}

/// A change point: at `commit`, in `frame`'s `measure` series, from `before` to `after`.
pub fn change_point_json(
    commit: &str,
    frame: String,
    measure: &str,
    before: f64,
    after: f64,
    p_value: f64,
) -> ChangePointJson {
    ChangePointJson {
        commit: commit.to_string(),
        frame,
        measure: measure.to_string(),
        before,
        after,
        change: if before != 0.0 { after / before - 1.0 } else { 0.0 },
        p_value,
    }
}
