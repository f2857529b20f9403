//! Integration tests of doppel-avatar: the built-in avatars, package loading and validation (folders and zips),
//! drawing, motion planning, and the rules `docs/avatar-format.md` states. Everything runs on real files: the
//! repository's `avatars/`, copies of them in temporary folders, and small packages written by the tests.

mod builtins;
mod drawing;
mod format;
mod motion;
mod packages;
mod support;
