fn main() {
    std::process::exit(pbx_harden::cli::main());
}
