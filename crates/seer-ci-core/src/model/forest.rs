//! A balanced random forest of linfa-trees decision trees.
//!
//! Each tree is fitted (linfa-trees, Gini) on a bootstrap of the failing rows and an equal-sized
//! random sample of passing rows, using a random subset of the features: the classes are balanced
//! per tree instead of by weights, and large histories cost a bounded sample per tree. linfa's
//! trees predict a label only, so each fitted tree is copied into a compact form whose leaves hold
//! the share of failing rows of the tree's sample that reached them; the forest's score is the
//! mean of its trees' leaf shares (a failure probability on balanced classes: a ranking score that
//! the threshold calibration turns into a selection).

use linfa::prelude::*;
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use super::logistic::ModelError;

/// How to grow the forest.
#[derive(Debug, Clone, Copy)]
pub struct ForestParams {
    pub trees: usize,
    pub max_depth: usize,
    /// Rows of each class in one tree's sample, at most.
    pub max_rows_per_class: usize,
    /// Share of the features each tree may split on.
    pub feature_fraction: f64,
    pub seed: u64,
}

impl Default for ForestParams {
    fn default() -> Self {
        ForestParams { trees: 32, max_depth: 8, max_rows_per_class: 5_000, feature_fraction: 0.7, seed: 1 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
enum Node {
    /// Rows with `x[feature] < value` go left.
    Split {
        feature: u32,
        value: f64,
        left: u32,
        right: u32,
    },
    Leaf {
        p: f64,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn leaf_of(&self, row: ndarray::ArrayView1<'_, f64>) -> usize {
        let mut i = 0;
        loop {
            match self.nodes[i] {
                Node::Split { feature, value, left, right } => {
                    i = if row[feature as usize] < value { left } else { right } as usize;
                }
                Node::Leaf { .. } => return i,
            }
        }
    }

    fn probability(&self, row: ndarray::ArrayView1<'_, f64>) -> f64 {
        match self.nodes[self.leaf_of(row)] {
            Node::Leaf { p } => p,
            Node::Split { .. } => unreachable!("leaf_of ends at a leaf"),
        }
    }
}

/// Copies a linfa tree (fitted on the columns `features`) into a compact tree over all columns.
fn copy_tree(node: &TreeNode<f64, bool>, features: &[usize], nodes: &mut Vec<Node>) -> u32 {
    let at = nodes.len() as u32;
    nodes.push(Node::Leaf { p: 0.0 });
    let children = node.children();
    if let (false, Some(left), Some(right)) = (node.is_leaf(), children[0], children[1]) {
        let (feature, value, _) = node.split();
        let left = copy_tree(left, features, nodes);
        let right = copy_tree(right, features, nodes);
        nodes[at as usize] = Node::Split { feature: features[feature] as u32, value, left, right };
    }
    at
}

/// A fitted forest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Forest {
    trees: Vec<Tree>,
}

/// The weight of a passing row: 1 - 2^-11, so that sums of up to 8,192 weights are exact in f32
/// and equal a sum of failing weights (each 1) only for 2,048 or more passing rows in one node.
const PASSING_WEIGHT: f32 = 1.0 - 1.0 / 2048.0;

/// Fits a balanced random forest of `failed` on the rows of `x`.
pub fn train_forest(x: ArrayView2<'_, f64>, failed: &[bool], params: ForestParams) -> Result<Forest, ModelError> {
    let failing: Vec<usize> = (0..failed.len()).filter(|&i| failed[i]).collect();
    let passing: Vec<usize> = (0..failed.len()).filter(|&i| !failed[i]).collect();
    if failing.is_empty() || passing.is_empty() {
        return Err(ModelError::OneClass { failing: failing.len(), passing: passing.len() });
    }
    let mut rng = StdRng::seed_from_u64(params.seed);
    let per_class = failing.len().min(params.max_rows_per_class).max(1);
    let width = x.ncols();
    let keep = ((width as f64 * params.feature_fraction).ceil() as usize).clamp(1, width);
    let mut trees = Vec::with_capacity(params.trees);
    for _ in 0..params.trees {
        let mut rows: Vec<usize> = (0..per_class).map(|_| *failing.choose(&mut rng).expect("not empty")).collect();
        rows.extend((0..per_class).map(|_| passing[rng.random_range(0..passing.len())]));
        let mut features: Vec<usize> = (0..width).collect();
        features.shuffle(&mut rng);
        features.truncate(keep);
        features.sort_unstable();
        let xs: Array2<f64> = x.select(Axis(0), &rows).select(Axis(1), &features);
        let ys: Array1<bool> = rows.iter().map(|&i| failed[i]).collect();
        // linfa prunes subtrees whose leaves predict one class, and breaks a tie between the
        // classes' weights through a randomly seeded HashMap: weigh passing rows a hair less, so
        // that class weights never tie and the same data always grows the same tree.
        let weights: Array1<f32> = ys.iter().map(|&f| if f { 1.0 } else { PASSING_WEIGHT }).collect();
        let data = Dataset::new(xs, ys).with_weights(weights);
        let fitted = DecisionTree::params().max_depth(Some(params.max_depth)).min_weight_leaf(5.0).fit(&data)?;
        let mut nodes = Vec::new();
        copy_tree(fitted.root_node(), &features, &mut nodes);
        let mut tree = Tree { nodes };
        // Leaf values: the failing share of this tree's sample at each leaf, smoothed.
        let mut counts = vec![(0u32, 0u32); tree.nodes.len()];
        for &r in &rows {
            let leaf = tree.leaf_of(x.row(r));
            counts[leaf].0 += u32::from(failed[r]);
            counts[leaf].1 += 1;
        }
        for (node, (fails, n)) in tree.nodes.iter_mut().zip(counts) {
            if let Node::Leaf { p } = node {
                *p = (f64::from(fails) + 0.5) / (f64::from(n) + 1.0);
            }
        }
        trees.push(tree);
    }
    Ok(Forest { trees })
}

impl Forest {
    /// The mean over trees of the failing share at each row's leaf.
    pub fn failure_probability(&self, x: ArrayView2<'_, f64>) -> Array1<f64> {
        x.rows()
            .into_iter()
            .map(|row| self.trees.iter().map(|t| t.probability(row)).sum::<f64>() / self.trees.len().max(1) as f64)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_an_interaction_a_linear_model_cannot() {
        // Rows fail when exactly one of the two features is high (xor), plus a noise column.
        let mut rng = StdRng::seed_from_u64(3);
        let n = 2_000;
        let x = Array2::from_shape_fn((n, 3), |_| rng.random::<f64>());
        let failed: Vec<bool> = x.rows().into_iter().map(|r| (r[0] > 0.5) != (r[1] > 0.5)).collect();
        let forest =
            train_forest(x.view(), &failed, ForestParams { feature_fraction: 1.0, ..Default::default() }).unwrap();
        let probe = ndarray::array![[0.9, 0.1, 0.5], [0.1, 0.9, 0.5], [0.9, 0.9, 0.5], [0.1, 0.1, 0.5]];
        let p = forest.failure_probability(probe.view());
        assert!(p[0] > 0.7 && p[1] > 0.7, "{p}");
        assert!(p[2] < 0.3 && p[3] < 0.3, "{p}");
    }

    /// Regression: linfa's pruning broke class-weight ties through a randomly seeded HashMap, so
    /// two fits of the same data grew different forests (and `seer eval` moved by points).
    #[test]
    fn the_same_data_grows_the_same_forest() {
        let mut rng = StdRng::seed_from_u64(5);
        let n = 4000;
        let x = Array2::from_shape_fn((n, 6), |(_, j)| (rng.random::<f64>() * 10.0).floor() / (1.0 + j as f64));
        let failed: Vec<bool> =
            (0..n).map(|i| (x[[i, 0]] + x[[i, 1]] * 0.5 + rng.random::<f64>() * 3.0) > 7.0).collect();
        let params = ForestParams { trees: 16, ..ForestParams::default() };
        let fit = || train_forest(x.view(), &failed, params).unwrap().failure_probability(x.view());
        let first = fit();
        for _ in 0..2 {
            assert_eq!(fit(), first);
        }
    }

    #[test]
    fn a_forest_survives_a_round_trip_through_json() {
        let x = ndarray::array![[0.0], [0.1], [0.9], [1.0], [0.05], [0.95]];
        let failed = [false, false, true, true, false, true];
        let forest = train_forest(x.view(), &failed, ForestParams { trees: 4, ..Default::default() }).unwrap();
        let back: Forest = serde_json::from_str(&serde_json::to_string(&forest).unwrap()).unwrap();
        assert_eq!(back.failure_probability(x.view()), forest.failure_probability(x.view()));
    }
}
