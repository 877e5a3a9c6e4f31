//! The `bragg` command-line program: parse arguments, run, print the error chain on failure.
use std::process::ExitCode;

fn main() -> ExitCode {
    match bragg::run_from_args(std::env::args_os()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            for cause in err.chain().skip(1) {
                eprintln!("  caused by: {cause}");
            }
            ExitCode::from(2)
        }
    }
}
