//! Periodic training: every project whose store has runs its live model was not trained on.

use std::sync::Arc;
use std::time::Duration;

use crate::routes::{AppState, train_project};

pub async fn train_periodically(state: Arc<AppState>, every: Duration) {
    let mut tick = tokio::time::interval(every);
    tick.tick().await;
    loop {
        tick.tick().await;
        for project in state.projects.all() {
            let state = state.clone();
            let key = project.key.clone();
            match tokio::task::spawn_blocking(move || train_project(&state, &project, None, true)).await {
                Ok(Ok(Some(trained))) => eprintln!("seer serve: trained {key}: {}", trained.model),
                Ok(Ok(None)) => {}
                Ok(Err(e)) => eprintln!("seer serve: training {key} failed: {}", e.message),
                Err(e) => eprintln!("seer serve: training {key} failed: {e}"),
            }
        }
    }
}
