//! Renderers, one module per output kind: [`text`] for people (decisions, what-if, lint,
//! replay), [`gaps`], [`diff`], [`changes`], [`suite`] (`gardien test`) and [`validate`] for
//! people, [`sarif`] for CI code-scanning. JSON is each report's `Serialize` form and needs no renderer; Markdown and
//! HTML documents are `gardien doc`'s product (`gardien_analysis::doc`). Renderers format a
//! report; they never recompute or filter it.

pub mod changes;
pub mod diff;
pub mod gaps;
pub mod lines;
pub mod sarif;
pub mod suite;
pub mod text;
pub mod validate;

pub use text::{colour, decision_text, decision_text_in, paint, whatif_table, wrap};
