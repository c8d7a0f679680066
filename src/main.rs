//! The `kms` binary: a thin shell around [`kms_agent::cli::main`].

fn main() -> std::process::ExitCode {
    kms_agent::cli::main()
}
