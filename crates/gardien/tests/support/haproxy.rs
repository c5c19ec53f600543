//! A real HAProxy for the end-to-end tests.
