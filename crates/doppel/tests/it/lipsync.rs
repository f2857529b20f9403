//! The audio lip-sync estimator measured end to end: `doppel lipsync-eval` on a part of the evaluation corpus must
//! meet the targets (the full corpus runs in the benchmark, see docs/BENCHMARKS.md).

use crate::doppel;

#[test]
fn lipsync_agreement_meets_the_targets_on_a_smaller_corpus() {
    let out = doppel(&["lipsync-eval", "--limit", "40", "--check", "--json"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let r: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(r["sentences"], 80, "40 English and 40 Chinese sentences");
    let all = &r["all"];
    assert!(all["open_closed"].as_f64().unwrap() >= 0.85, "{all}");
    assert!(all["exact"].as_f64().unwrap() >= 0.55, "{all}");
    assert!(all["closures"].as_u64().unwrap() >= 50, "{all}");
    assert!(all["closures_detected"].as_f64().unwrap() >= 0.80, "{all}");
    for lang in ["english", "chinese"] {
        assert!(r[lang]["exact"].as_f64().unwrap() >= 0.55, "{lang}: {}", r[lang]);
    }
    assert!(r["realtime_factor"].as_f64().unwrap() > 20.0, "{}", r["realtime_factor"]);
}
