#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test failures report through panics"
)]

//! Attacks on the command line (finding 7 of the hardening issue; the server's are in
//! `crates/gardien-server/tests/attacks.rs`): inputs that never end or never open, and
//! input quoted back into messages with terminal escape sequences. Each runs the real
//! binary under a deadline: a hang fails the test instead of blocking it.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A scratch directory, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(tag: &str) -> Scratch {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let dir =
            std::env::temp_dir().join(format!("gardien-attacks-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Runs gardien with a 20-second deadline: (exit code, stdout, stderr as bytes).
fn gardien(args: &[&str]) -> (i32, Vec<u8>, Vec<u8>) {
    let dir = Scratch::new("run");
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("gardien {args:?} did not finish within 20 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status.code().unwrap_or(-1),
        std::fs::read(out).unwrap(),
        std::fs::read(err).unwrap(),
    )
}

/// `/dev/zero` never ends and a FIFO without a writer never opens: both are refused at
/// once with a clear error, whatever option reads them.
#[test]
fn endless_and_blocking_inputs_are_refused() {
    let tenant = root().join("examples/demo/tenant");
    let tenant = tenant.to_str().unwrap();
    let dir = Scratch::new("inputs");
    let fifo = dir.path().join("fifo");
    let made = Command::new("mkfifo").arg(&fifo).status();
    let mut inputs = vec!["/dev/zero".to_owned()];
    match made {
        Ok(s) if s.success() => inputs.push(fifo.display().to_string()),
        _ => println!("SKIP the FIFO case: mkfifo is not available"),
    }
    for input in &inputs {
        for args in [
            vec!["evaluate", "--tenant", tenant, "--request", input],
            vec!["whatif", "--tenant", tenant, "--request", input],
            vec!["signin", "--headers", input],
            vec!["serve", "--config", input],
            vec!["replay", "--tenant", tenant, "--logs", input],
        ] {
            let (code, _, err) = gardien(&args);
            let err = String::from_utf8_lossy(&err);
            assert_eq!(code, 1, "{args:?}: {err}");
            assert!(err.contains("not a regular file"), "{args:?}: {err}");
            assert!(err.contains(input.as_str()), "{args:?}: {err}");
        }
    }
}

/// Input quoted in a message never reaches the terminal raw: control characters are shown
/// escaped.
#[test]
fn control_characters_in_messages_are_escaped() {
    let dir = Scratch::new("escapes");
    let evil = dir.path().join("x\u{1b}]0;pwned\u{7}\u{1b}[2J.txt");
    let evil = evil.to_str().unwrap();
    let cases: [Vec<&str>; 2] = [
        vec!["signin", "--headers", evil],
        vec![
            "signin",
            "--headers",
            evil,
            "--forwarded-header",
            "x\u{1b}[31m",
        ],
    ];
    for args in cases {
        let (code, out, err) = gardien(&args);
        assert_eq!(code, 1);
        for stream in [&out, &err] {
            assert!(
                !stream.iter().any(|b| *b == 0x1b || *b == 0x07),
                "{args:?}: raw control characters in {:?}",
                String::from_utf8_lossy(stream)
            );
        }
        assert!(
            String::from_utf8_lossy(&err).contains("\\u{1b}"),
            "{}",
            String::from_utf8_lossy(&err)
        );
    }
}

/// A refused `--demo` start (not on loopback) leaves no temporary database behind (and
/// binds nothing).
#[test]
fn a_refused_demo_start_leaves_nothing_behind() {
    let tmp = Scratch::new("demo");
    let out = Command::new(env!("CARGO_BIN_EXE_gardien"))
        .args(["serve", "--demo", "--listen", "0.0.0.0:0"])
        .env("TMPDIR", tmp.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("loopback"), "{err}");
    let left: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
