//! Tracing: the same checks run with or without recording *why*, chosen at compile time.

/// Receives explanations from condition checks. [`NoTrace`] compiles them away, so the hot
/// path pays nothing; [`Notes`] keeps them for what-if, `evaluate --json` and explanations.
pub trait Tracer {
    /// Whether notes are recorded (lets callers skip work that only feeds notes).
    const ENABLED: bool;
    /// Records a note; `f` runs only when tracing.
    fn note(&mut self, f: impl FnOnce() -> String);
}

/// A tracer that records nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoTrace;

impl Tracer for NoTrace {
    const ENABLED: bool = false;
    #[inline(always)]
    fn note(&mut self, _f: impl FnOnce() -> String) {}
}

/// A tracer that keeps every note.
#[derive(Debug, Default, Clone)]
pub struct Notes(pub Vec<String>);

impl Tracer for Notes {
    const ENABLED: bool = true;
    fn note(&mut self, f: impl FnOnce() -> String) {
        self.0.push(f());
    }
}

impl Notes {
    /// Takes the notes recorded so far, joined with `; `.
    pub fn take(&mut self) -> String {
        let s = self.0.join("; ");
        self.0.clear();
        s
    }
}
