//! The `crowd-envelope` program; everything it does lives in `crowd_envelope::cli`.

fn main() -> std::process::ExitCode {
    crowd_envelope::cli::main()
}
