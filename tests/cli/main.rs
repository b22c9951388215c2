//! End-to-end tests of the `shoebox` binary: the commands a person types, and a scan killed
//! with SIGKILL part-way.

mod commands;
mod crash;
mod models;
mod search;
mod support;
