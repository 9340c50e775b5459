#![forbid(unsafe_code)]

fn main() {
    std::process::exit(git_rollback_sprint::cli::main());
}
