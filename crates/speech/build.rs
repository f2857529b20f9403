//! Links libespeak-ng (Debian: libespeak-ng-dev), found through pkg-config when it is there.

fn main() {
    println!("cargo:rerun-if-env-changed=ESPEAK_NG_LIB_DIR");
    if let Ok(dir) = std::env::var("ESPEAK_NG_LIB_DIR") {
        println!("cargo:rustc-link-search=native={dir}");
    }
    println!("cargo:rustc-link-lib=dylib=espeak-ng");
}
