//! Fuzzes the SSML / text parser: any input must give a plan or an error with an offset inside the text.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match doppel_script::parse_text(&text) {
        Ok(plan) => {
            let _ = plan.display_text();
        }
        Err(e) => assert!(e.offset <= text.chars().count(), "offset {} past the end", e.offset),
    }
});
