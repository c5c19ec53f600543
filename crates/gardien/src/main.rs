//! The `gardien` command line. Thin: parsing and exit codes; the work is in `gardien::run`.

use std::process::ExitCode;

fn main() -> ExitCode {
    gardien::run()
}
