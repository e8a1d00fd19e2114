#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // Passwords, hashes and SIP secrets pass through this process: no core file, and no
    // other process of the same user may attach to it or read its memory.
    pbx_harden::secrets::protect_process();
    std::process::exit(pbx_harden::cli::main());
}
