//! The `crowd-envelope` program (feature `cli`): a client of the library's
//! public API like any other; `main` only dispatches to a subcommand.

#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
