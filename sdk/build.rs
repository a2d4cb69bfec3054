//! The bindings are generated from `../wit` by a macro, which cargo does not watch: a change of
//! the WIT must rebuild this crate.

fn main() {
    println!("cargo:rerun-if-changed=../wit");
}
