//! The examples in docs/script.md run as written: every JSON block there is a valid script.

use std::path::Path;

#[test]
fn every_json_example_in_the_script_docs_is_a_valid_script() {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/script.md")).expect("docs");
    let mut blocks = 0;
    let mut rest = doc.as_str();
    while let Some(start) = rest.find("```json\n") {
        let body = &rest[start + 8..];
        let end = body.find("```").expect("closed block");
        let json = &body[..end];
        let script = doppel_script::parse_script(json).unwrap_or_else(|e| panic!("{e}\nin:\n{json}"));
        script.text_plans().expect("texts parse");
        blocks += 1;
        rest = &body[end..];
    }
    assert!(blocks >= 2, "found {blocks} examples");
}
