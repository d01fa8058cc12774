//! The `anneal` executable. Everything lives in `anneal-cli`; this file only
//! hands over the process exit code.
fn main() -> std::process::ExitCode {
    anneal_cli::main()
}
