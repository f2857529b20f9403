use doppel_render::subtitles::{
    cues_from_timeline, parse_hex_color, style_from_config, text_width, to_srt, to_vtt, Cue, SubtitleStyle,
    SubtitleTrack, MIN_CUE_MS,
};
use doppel_render::text::TextRenderer;
use doppel_speech::{TextItem, Timeline};

fn item(start_ms: u32, end_ms: u32, text: &str) -> TextItem {
    TextItem { start_ms, end_ms, text: text.into(), pinyin: None }
}

fn timeline(sentences: Vec<TextItem>, words: Vec<TextItem>) -> Timeline {
    let duration_ms = sentences.iter().map(|s| s.end_ms).max().unwrap_or(0);
    Timeline {
        duration_ms,
        sentences,
        words,
        phonemes: vec![],
        marks: vec![],
        visemes: vec![],
        fps: 25,
        frames: String::new(),
    }
}

fn cue(start_ms: u32, end_ms: u32, text: &str) -> Cue {
    Cue { start_ms, end_ms, text: text.into() }
}

/// Cues in order, not overlapping, each at least one frame long.
fn assert_well_formed(cues: &[Cue]) {
    for c in cues {
        assert!(c.end_ms >= c.start_ms + MIN_CUE_MS, "{c:?}");
        assert!(!c.text.is_empty() && c.text.trim() == c.text, "{c:?}");
    }
    for w in cues.windows(2) {
        assert!(w[0].end_ms <= w[1].start_ms, "{:?} overlaps {:?}", w[0], w[1]);
    }
}

#[test]
fn short_sentences_become_one_cue_each_shifted_by_the_offset() {
    let t = timeline(
        vec![item(0, 1000, " Hello world. "), item(1200, 2000, "你好。")],
        vec![item(0, 400, "Hello"), item(450, 1000, "world"), item(1200, 2000, "你好")],
    );
    assert_eq!(cues_from_timeline(&t, 5000, 40), vec![cue(5000, 6000, "Hello world."), cue(6200, 7000, "你好。")]);
    assert_eq!(cues_from_timeline(&t, 0, 0).len(), 2, "0: no limit");
    assert_eq!(text_width("你好。"), 6);
    assert_eq!(text_width("Hi, 你"), 6);
}

#[test]
fn long_english_sentence_splits_at_words_timed_by_them() {
    let text = "The quick brown fox jumps over the lazy dog.";
    let words = ["The", "quick", "brown", "fox", "jumps", "over", "the", "lazy", "dog"];
    let t = timeline(
        vec![item(0, 4600, text)],
        words.iter().enumerate().map(|(i, w)| item(i as u32 * 500, i as u32 * 500 + 450, w)).collect(),
    );
    let cues = cues_from_timeline(&t, 1000, 20);
    assert_eq!(
        cues,
        vec![cue(1000, 2500, "The quick brown"), cue(2500, 4000, "fox jumps over"), cue(4000, 5600, "the lazy dog.")]
    );
    assert_well_formed(&cues);
}

#[test]
fn long_chinese_sentence_splits_between_words_counting_han_as_two() {
    let text = "今天天气很好，我们一起去公园散步吧。";
    let words = ["今天", "天气", "很好", "我们", "一起", "去", "公园", "散步", "吧"];
    let mut at = 2000;
    let mut items = vec![];
    for w in words {
        let d = 250 * w.chars().count() as u32;
        items.push(item(at, at + d, w));
        at += d + 50;
    }
    let end = at + 200;
    let t = timeline(vec![item(2000, end, text)], items.clone());
    let cues = cues_from_timeline(&t, 0, 16);
    assert_well_formed(&cues);
    assert!(cues.len() >= 3, "{cues:?}");
    assert_eq!(cues.iter().map(|c| c.text.as_str()).collect::<String>(), text);
    assert!(cues.iter().all(|c| text_width(&c.text) <= 16), "{cues:?}");
    assert_eq!(cues[0].start_ms, 2000);
    assert_eq!(cues.last().unwrap().end_ms, end);
    for w in cues.windows(2) {
        assert_eq!(w[0].end_ms, w[1].start_ms, "cues of a sentence follow one another");
        // Each later cue starts when its first word does.
        let first = items.iter().find(|i| w[1].text.starts_with(&i.text)).expect("starts with a word");
        assert_eq!(w[1].start_ms, first.start_ms, "{cues:?}");
    }
}

#[test]
fn long_sentence_without_word_timings_still_splits() {
    let text = "这是一句没有词语时间信息的很长的句子，也要分开显示。";
    let t = timeline(vec![item(0, 5200, text)], vec![]);
    let cues = cues_from_timeline(&t, 0, 20);
    assert_well_formed(&cues);
    assert!(cues.len() >= 3, "{cues:?}");
    assert_eq!(cues.iter().map(|c| c.text.as_str()).collect::<String>(), text);
    assert!(cues.iter().all(|c| text_width(&c.text) <= 20));
    assert!(!cues.iter().any(|c| c.text.starts_with(['，', '。'])), "{cues:?}");
    assert_eq!((cues[0].start_ms, cues.last().unwrap().end_ms), (0, 5200));

    let latin = "one two three four five six seven eight nine ten";
    let cues = cues_from_timeline(&timeline(vec![item(0, 4800, latin)], vec![]), 0, 15);
    assert_well_formed(&cues);
    assert_eq!(cues.iter().map(|c| c.text.as_str()).collect::<Vec<_>>().join(" "), latin);
    assert!(cues.iter().all(|c| text_width(&c.text) <= 15));
    // A single word wider than the limit stays whole.
    let cues = cues_from_timeline(&timeline(vec![item(0, 1000, "Pneumonoultramicroscopic")], vec![]), 0, 5);
    assert_eq!(cues, vec![cue(0, 1000, "Pneumonoultramicroscopic")]);
}

#[test]
fn cues_never_overlap_and_last_a_frame() {
    let t = timeline(
        vec![
            item(100, 100, "Zero length."),
            item(100, 130, "Tiny."),
            item(120, 900, "Overlapping."),
            item(900, 900, " "),
        ],
        vec![],
    );
    let cues = cues_from_timeline(&t, 0, 40);
    assert_well_formed(&cues);
    assert_eq!(cues.len(), 3, "{cues:?}");
    assert_eq!(cues[0], cue(100, 140, "Zero length."));
    let huge = cues_from_timeline(&t, u32::MAX - 10, 40);
    assert_eq!(huge.len(), 3);
}

#[test]
fn srt_and_vtt_are_formatted_exactly() {
    let cues = vec![
        cue(1000, 2500, "text"),
        cue(3_723_004, 3_725_000, "second\nline"),
        cue(360_000_000, 360_000_999, "a < b & c\n\nafter blank"),
    ];
    assert_eq!(
        to_srt(&cues),
        "1\n00:00:01,000 --> 00:00:02,500\ntext\n\n\
         2\n01:02:03,004 --> 01:02:05,000\nsecond\nline\n\n\
         3\n100:00:00,000 --> 100:00:00,999\na < b & c\nafter blank\n\n"
    );
    assert_eq!(
        to_vtt(&cues),
        "WEBVTT\n\n\
         00:00:01.000 --> 00:00:02.500\ntext\n\n\
         01:02:03.004 --> 01:02:05.000\nsecond\nline\n\n\
         100:00:00.000 --> 100:00:00.999\na &lt; b &amp; c\nafter blank\n\n"
    );
    assert_eq!(to_srt(&[]), "");
    assert_eq!(to_vtt(&[]), "WEBVTT\n\n");
}

#[test]
fn hex_colours() {
    assert_eq!(parse_hex_color("#FF8000"), Some([255, 128, 0, 255]));
    assert_eq!(parse_hex_color("#ff800080"), Some([255, 128, 0, 128]));
    assert_eq!(parse_hex_color(" #000000 "), Some([0, 0, 0, 255]));
    for bad in ["", "#", "#FFF", "#GG0000", "#FF80001", "#ＦＦ８０", "red"] {
        assert_eq!(parse_hex_color(bad), None, "{bad:?}");
    }
}

fn assert_close(got: &[f32], want: &[f32]) {
    assert!(got.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-3), "{got:?} vs {want:?}");
}

#[test]
fn styles_from_defaults_and_config() {
    let s = SubtitleStyle::for_frame(1280, 720, 1280.0 / 1080.0);
    assert!((s.size_px - 64.0).abs() < 0.01);
    assert_close(&[s.box_x, s.box_width, s.box_bottom], &[128.0, 1024.0, 633.6]);
    assert_eq!(s.color, [255, 255, 255, 255]);
    let (stroke, px) = s.stroke.unwrap();
    assert!(stroke[0] < 64 && stroke[3] == 255 && px > 0.0);

    // Nothing configured: the defaults.
    let d = style_from_config(None, None, None, None, None, None, None, None, 1080, 1920, 0.5);
    assert_eq!(d, SubtitleStyle::for_frame(540, 960, 0.5));

    let c = style_from_config(
        Some(108),
        Some(1700),
        Some("HarmonyOS_Sans_SC_Black"),
        Some(60),
        Some("#FFFF00"),
        Some("#102030"),
        Some(4.0),
        Some(0.8),
        1080,
        1920,
        0.5,
    );
    assert_eq!(c.font_name, "HarmonyOS_Sans_SC_Black");
    assert_eq!(c.color, [255, 255, 0, 255]);
    let (stroke, px) = c.stroke.unwrap();
    assert_eq!(stroke, [16, 32, 48, 255]);
    assert_close(
        &[c.size_px, c.opacity, px, c.box_x, c.box_bottom, c.box_width],
        &[30.0, 0.8, 2.0, 54.0, 850.0, 432.0],
    );

    // No outline; a box pushed off screen comes back; bad colours keep the defaults.
    let e =
        style_from_config(Some(5000), None, None, None, Some("yellow"), None, Some(0.0), Some(7.0), 1080, 1920, 1.0);
    assert_eq!((e.stroke, e.color, e.opacity), (None, [255, 255, 255, 255], 1.0));
    assert_close(&[e.box_x], &[1080.0 - 864.0]);
}

/// The horizontal centre of the ink (alpha above 64) of an image placed at (x, y), and its bottom row.
fn placed_ink(p: &tiny_skia::Pixmap, x: i32, y: i32) -> (f64, i32) {
    let (mut x0, mut x1, mut bottom) = (i32::MAX, i32::MIN, i32::MIN);
    for (i, c) in p.pixels().iter().enumerate() {
        if c.alpha() > 64 {
            let (px, py) = ((i as u32 % p.width()) as i32 + x, (i as u32 / p.width()) as i32 + y);
            (x0, x1, bottom) = (x0.min(px), x1.max(px), bottom.max(py));
        }
    }
    ((x0 + x1) as f64 / 2.0, bottom)
}

#[test]
fn track_shows_each_cue_in_its_time_centred_in_the_box() {
    let mut r = TextRenderer::new();
    let style = SubtitleStyle::for_frame(1280, 720, 1280.0 / 1080.0);
    let long = "这是一条很长很长的字幕，它在字幕框里放不下一行，所以要换到第二行显示出来。";
    let cues = vec![cue(0, 1000, "第一句字幕"), cue(1500, 2500, "Second cue, centred"), cue(2500, 4000, long)];
    let track = SubtitleTrack::new(&mut r, &cues, &style);
    assert_eq!(track.len(), 3);

    assert!(track.frame(1000).is_none(), "end is exclusive");
    assert!(track.frame(1200).is_none());
    assert!(track.frame(1499).is_none());
    assert!(track.frame(4000).is_none());
    assert!(track.frame(u32::MAX).is_none());
    let first = track.frame(0).unwrap();
    assert!(std::ptr::eq(first.0, track.frame(999).unwrap().0), "one image per cue");
    let second = track.frame(1500).unwrap();
    assert!(!std::ptr::eq(first.0, second.0));
    assert!(std::ptr::eq(second.0, track.frame(2499).unwrap().0));
    let third = track.frame(2500).unwrap();

    let box_centre = (style.box_x + style.box_width / 2.0) as f64;
    for (p, x, y) in [first, second] {
        let (cx, bottom) = placed_ink(p, x, y);
        assert!((cx - box_centre).abs() < 2.5, "ink centre {cx} vs box centre {box_centre}");
        // One line: its ink ends a little above the box bottom (descenders and stroke aside).
        assert!(bottom as f32 <= style.box_bottom + 4.0 && bottom as f32 > style.box_bottom - style.size_px * 0.6);
        assert!(x >= style.box_x as i32 - 4 && x + p.width() as i32 <= (style.box_x + style.box_width) as i32 + 4);
    }
    // The long cue wraps inside the box and grows upwards.
    let (p, x, y) = third;
    assert!(p.height() as f32 > 2.0 * style.size_px, "{}", p.height());
    assert!(x >= style.box_x as i32 - 4 && x + p.width() as i32 <= (style.box_x + style.box_width) as i32 + 4);
    assert!(y < first.2 - style.size_px as i32);
    let (cx, bottom) = placed_ink(p, x, y);
    assert!((cx - box_centre).abs() < 8.0 && bottom as f32 <= style.box_bottom + 4.0);

    let empty = SubtitleTrack::new(&mut r, &[], &style);
    assert!(empty.is_empty() && empty.frame(0).is_none());
}
