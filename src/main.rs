//! The `seer` binary: everything lives in the library.

fn main() {
    std::process::exit(seer::cli::main());
}
