//! End-to-end tests of real processes on loopback: `zisk-coordinator`, `zisk-worker`s and
//! the `zisk` CLI, with SIGKILL and SIGTERM. Every wait is bounded; a failing test prints
//! the logs of the processes it started.

mod harness;

mod bad_input;
mod cluster;
mod drain;
mod embedded;
mod input_path;
mod precedence;
mod prove;
mod sigkill;
mod webhook;
