//! Fuzzes the script JSON parser and validator: any input must give a script or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(script) = doppel_script::parse_script(text) {
            let _ = doppel_script::validate(&script);
        }
    }
});
