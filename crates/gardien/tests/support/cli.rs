//! Running the `gardien` binary from the CLI tests and writing their input files.

use serde_json::Value;
use std::path::Path;
use std::process::Command;

/// Runs `gardien ARGS` in the test's working directory: (exit code, stdout, stderr), the
/// exit code -1 when the process died of a signal.
pub fn gardien(args: &[&str]) -> (i32, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_gardien")).args(args))
}

/// Runs `gardien ARGS` with `dir` as the working directory (for relative paths in the
/// arguments and in the output).
pub fn gardien_in(dir: &Path, args: &[&str]) -> (i32, String, String) {
    run(Command::new(env!("CARGO_BIN_EXE_gardien"))
        .current_dir(dir)
        .args(args))
}

fn run(command: &mut Command) -> (i32, String, String) {
    let out = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run gardien: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `value` as pretty JSON to `dir/name` (parent folders created) and returns the path
/// as a command-line argument.
pub fn write_json(dir: &Path, name: &str, value: &Value) -> String {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)
            .unwrap_or_else(|e| panic!("create {}: {e}", parent.display()));
    }
    let bytes = serde_json::to_vec_pretty(value)
        .unwrap_or_else(|e| panic!("serialize {}: {e}", path.display()));
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path.display().to_string()
}
