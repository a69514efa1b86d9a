//! The detector's and the trend's findings as the API's documents.

use hashbrown::HashMap;
use seer_ci_api::{ChangePointJson, FrameChangeJson, TotalChangeJson};

use super::{FrameChange, TotalChange};

/// A frame's name, or its id when the name is unknown.
pub fn frame_name(names: &HashMap<i64, String>, frame: i64) -> String {
    names.get(&frame).cloned().unwrap_or_else(|| format!("(frame {frame})"))
}

impl FrameChange {
    /// The document of one function's change, named from `names`.
    pub fn to_json(&self, names: &HashMap<i64, String>) -> FrameChangeJson {
        FrameChangeJson {
            frame: frame_name(names, self.frame),
            base_share: self.base_self,
            head_share: self.head_self,
            base_inclusive: self.base_inclusive,
            head_inclusive: self.head_inclusive,
            change: self.change.is_finite().then_some(self.change),
            p_value: self.p_value,
            q_value: self.q_value,
        }
    }
}

impl From<&TotalChange> for TotalChangeJson {
    fn from(t: &TotalChange) -> TotalChangeJson {
        TotalChangeJson { base_samples: t.base_mean, head_samples: t.head_mean, change: t.change, p_value: t.p_value }
    }
}

/// A change point: at `commit`, in `frame`'s series, from `before` to `after`.
pub fn change_point_json(commit: &str, frame: String, before: f64, after: f64, p_value: f64) -> ChangePointJson {
    ChangePointJson {
        commit: commit.to_string(),
        frame,
        before,
        after,
        change: if before != 0.0 { after / before - 1.0 } else { 0.0 },
        p_value,
    }
}
