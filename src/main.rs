//! The `seer` binary: everything lives in the library.

// Recording a large report allocates a few strings per test on two threads at once; mimalloc
// keeps that from dominating the time (see the ingest benchmark in the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(seer::cli::main());
}
