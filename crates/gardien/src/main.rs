//! The `gardien` command line. Thin: parsing and exit codes; the work is in `gardien::run`.

use std::process::ExitCode;

/// mimalloc, not the system allocator: a forward-auth request allocates a few blocks above
/// glibc's thread cache (1,032 bytes), each of which cost glibc a search of its bins and a
/// consolidation of the fast bins (BENCHMARKS.md, "The allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    gardien::run()
}
