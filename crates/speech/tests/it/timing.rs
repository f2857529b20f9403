//! Timing: marks, breaks, bilabial closures, sentences and words, in English and Chinese.

use doppel_lipsync::Shape;
use doppel_speech::{MarkKind, Timeline, VoiceSettings};

use crate::{rms, speak, speak_with};

const EN: &str = "espeak-en-us-ava";
const ZH: &str = "espeak-zh-cn-xiaoyun";

fn word_start(t: &Timeline, text: &str) -> u32 {
    t.words.iter().find(|w| w.text == text).unwrap_or_else(|| panic!("no word {text:?} in {:?}", t.words)).start_ms
}

#[test]
fn timelines_keep_their_invariants() {
    for (voice, text) in [
        (EN, "Hello world. This is doppel; it speaks! Does it? Yes: 3.14 is pi."),
        (EN, "<speak><prosody rate=\"150%\">Fast words</prosody> and <prosody pitch=\"x-low\">low ones</prosody>.</speak>"),
        (ZH, "大家好，我是小云。今天天气很好！"),
        (ZH, "我们用doppel制作2024年的视频。"),
        (EN, "Short."),
    ] {
        let s = speak(voice, text);
        assert!(!s.timeline.words.is_empty(), "{text}");
        assert!(!s.timeline.sentences.is_empty(), "{text}");
        let expected_ms = (s.samples.len() as u64 * 1000 / s.sample_rate as u64) as u32;
        assert!(s.timeline.duration_ms.abs_diff(expected_ms) <= 1);
        assert_eq!(s.timeline.frames.len(), s.timeline.frame_shapes().len());
        assert_eq!(s.timeline.frames.len() as u32, s.timeline.duration_ms.div_ceil(40));
    }
}

#[test]
fn sentences_split_at_terminators_and_hold_their_words() {
    let s = speak(EN, "Bob ate a big pie. Then he slept! Did he dream?");
    let texts: Vec<&str> = s.timeline.sentences.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(texts, ["Bob ate a big pie.", "Then he slept!", "Did he dream?"]);
    let words: Vec<&str> = s.timeline.words.iter().map(|x| x.text.as_str()).collect();
    assert_eq!(words, ["Bob", "ate", "a", "big", "pie", "Then", "he", "slept", "Did", "he", "dream"]);
}

#[test]
fn mouth_closes_on_every_b_and_p_within_a_frame() {
    let s = speak(EN, "Bob ate a big pie");
    let t = &s.timeline;
    let frames = t.frame_shapes();
    let bilabials: Vec<_> = t.phonemes.iter().filter(|p| p.phoneme == "b" || p.phoneme == "p").collect();
    assert_eq!(bilabials.len(), 4, "b, b, b, p in {:?}", t.phonemes);
    for p in bilabials {
        let closed =
            t.visemes.iter().any(|v| v.shape == Shape::A && v.start_ms < p.end_ms + 40 && v.end_ms + 40 > p.start_ms);
        assert!(closed, "no A within a frame of {p:?}: {:?}", t.visemes);
        let first = (p.start_ms / 40).saturating_sub(1) as usize;
        let last = ((p.end_ms / 40) + 1) as usize;
        assert!(
            frames[first..=last.min(frames.len() - 1)].contains(&Shape::A),
            "no closed frame around {p:?}: {}",
            t.frames
        );
    }
}

#[test]
fn a_mark_before_a_word_is_timed_at_its_start() {
    let s = speak(EN, "Hello there, <mark name=\"here\"/>beautiful world.");
    let mark = s.timeline.marks.iter().find(|m| m.name == "here").expect("mark");
    assert_eq!(mark.kind, MarkKind::Mark);
    let start = word_start(&s.timeline, "beautiful");
    assert!(mark.at_ms.abs_diff(start) <= 20, "mark at {} but word at {start}", mark.at_ms);
}

#[test]
fn actions_and_emotions_become_timed_marks() {
    let s = speak(
        EN,
        "<speak><emotion type=\"HAPPY\">Hi <insert-action name=\"wave\" tag=\"t_wave\"/>there.</emotion> \
         Goodbye <emotion type=\"SAD\">friend</emotion>.</speak>",
    );
    let t = &s.timeline;
    let got: Vec<(MarkKind, &str)> = t.marks.iter().map(|m| (m.kind, m.name.as_str())).collect();
    assert_eq!(
        got,
        [
            (MarkKind::Emotion, "HAPPY"),
            (MarkKind::Action, "wave"),
            (MarkKind::Emotion, "NEUTRAL"),
            (MarkKind::Emotion, "SAD"),
            (MarkKind::Emotion, "NEUTRAL"),
        ]
    );
    assert_eq!(t.marks[1].tag.as_deref(), Some("t_wave"));
    assert!(t.marks[0].at_ms.abs_diff(word_start(t, "Hi")) <= 20);
    assert!(t.marks[1].at_ms.abs_diff(word_start(t, "there")) <= 20);
    assert!(t.marks[2].at_ms.abs_diff(word_start(t, "Goodbye")) <= 20);
    assert!(t.marks[3].at_ms.abs_diff(word_start(t, "friend")) <= 20);
    assert!(t.marks[4].at_ms >= t.words.last().map_or(0, |w| w.start_ms));
}

/// The longest run of near-silent samples, in ms, that starts between `from_ms` and `to_ms`.
fn longest_silence_ms(samples: &[i16], rate: u32, from_ms: u32, to_ms: u32) -> u32 {
    let at = |ms: u32| (ms as u64 * rate as u64 / 1000) as usize;
    let (from, to) = (at(from_ms), at(to_ms).min(samples.len()));
    let mut best = 0;
    let mut i = from;
    while i < to {
        let mut j = i;
        while j < samples.len() && samples[j].unsigned_abs() < 100 {
            j += 1;
        }
        best = best.max(j - i);
        i = j + 1;
    }
    (best as u64 * 1000 / rate as u64) as u32
}

#[test]
fn a_200ms_break_is_at_least_180ms_of_silence() {
    let s = speak(EN, "Ready <break time=\"200ms\"/> go");
    let ready_end = s.timeline.words[0].end_ms;
    let go_start = word_start(&s.timeline, "go");
    let silence = longest_silence_ms(&s.samples, s.sample_rate, ready_end.saturating_sub(20), go_start);
    assert!(silence >= 180, "only {silence} ms of silence between the words");
    // Without the break the words run together.
    let plain = speak(EN, "Ready go");
    let gap = longest_silence_ms(
        &plain.samples,
        plain.sample_rate,
        plain.timeline.words[0].end_ms.saturating_sub(20),
        word_start(&plain.timeline, "go"),
    );
    assert!(gap < 180, "{gap} ms of silence with no break");
    let long = speak(EN, "Ready <break time=\"1s\"/> go");
    assert!(long.timeline.duration_ms >= plain.timeline.duration_ms + 900);
}

#[test]
fn chinese_is_audible_with_pinyin_phonemes() {
    let s = speak(ZH, "大家好，我是小云。");
    assert!(rms(&s.samples) > 0.02, "rms {}", rms(&s.samples));
    let words: Vec<&str> = s.timeline.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["大", "家", "好", "我", "是", "小", "云"]);
    let pinyin: Vec<&str> = s.timeline.words.iter().filter_map(|w| w.pinyin.as_deref()).collect();
    assert_eq!(pinyin, ["da4", "jia1", "hao3", "wo3", "shi4", "xiao3", "yun2"]);
    assert!(s.timeline.phonemes.len() >= 14, "{:?}", s.timeline.phonemes);
    assert!(s.timeline.phonemes.iter().any(|p| p.phoneme == "tɕ"), "j of jia1: {:?}", s.timeline.phonemes);
    assert_eq!(s.timeline.sentences.len(), 1);
    assert_eq!(s.timeline.sentences[0].text, "大家好，我是小云。");
}

#[test]
fn mixed_chinese_and_english_speak_both() {
    let s = speak(ZH, "我们用doppel做视频");
    let words: Vec<&str> = s.timeline.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["我", "们", "用", "doppel", "做", "视", "频"]);
    assert!(s.timeline.phonemes.iter().any(|p| p.phoneme == "p"), "doppel's p: {:?}", s.timeline.phonemes);
    let en = speak(EN, "Say 你好 to doppel");
    let words: Vec<&str> = en.timeline.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["Say", "你", "好", "to", "doppel"]);
}

#[test]
fn chinese_numbers_are_read_in_chinese() {
    let s = speak(ZH, "2024年");
    let words: Vec<&str> = s.timeline.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["2024", "年"]);
    assert_eq!(s.timeline.words[0].pinyin.as_deref(), Some("er4 qian1 ling2 er4 shi2 si4"));
}

#[test]
fn ssml_substitutions_keep_the_written_words() {
    let s = speak(EN, "Visit the <sub alias=\"World Wide Web\">WWW</sub> today");
    let words: Vec<&str> = s.timeline.words.iter().map(|w| w.text.as_str()).collect();
    assert_eq!(words, ["Visit", "the", "WWW", "today"]);
    let plain = speak(EN, "Visit the WWW today");
    assert!(s.timeline.words[2].end_ms - s.timeline.words[2].start_ms > 0);
    assert_ne!(s.timeline.phonemes.len(), plain.timeline.phonemes.len());
    let zh = speak(ZH, "<speak>好<phoneme ph=\"liao3\">了</phoneme></speak>");
    assert_eq!(zh.timeline.words[1].text, "了");
    assert_eq!(zh.timeline.words[1].pinyin.as_deref(), Some("liao3"));
}

#[test]
fn speed_and_prosody_change_the_duration() {
    let text = "The quick brown fox jumps over the lazy dog.";
    let normal = speak(EN, text).timeline.duration_ms;
    let fast = speak_with(EN, text, VoiceSettings { speed: 200, ..VoiceSettings::default() }).timeline.duration_ms;
    let slow = speak_with(EN, text, VoiceSettings { speed: 50, ..VoiceSettings::default() }).timeline.duration_ms;
    assert!(fast * 10 < normal * 7, "fast {fast} vs normal {normal}");
    assert!(slow * 10 > normal * 15, "slow {slow} vs normal {normal}");
    let ssml_slow = speak(EN, &format!("<speak><prosody rate=\"50%\">{text}</prosody></speak>")).timeline.duration_ms;
    assert!(ssml_slow * 10 > normal * 15, "prosody slow {ssml_slow} vs normal {normal}");
}

#[test]
fn volume_scales_loudness() {
    let text = "Loud and quiet.";
    let quiet = rms(&speak_with(EN, text, VoiceSettings { volume: 90, ..VoiceSettings::default() }).samples);
    let loud = rms(&speak_with(EN, text, VoiceSettings { volume: 240, ..VoiceSettings::default() }).samples);
    assert!(loud > quiet * 1.5, "loud {loud} quiet {quiet}");
}
