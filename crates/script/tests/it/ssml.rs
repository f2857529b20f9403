//! The SSML corpus: plain text, every tag, Chinese and mixed text, entities, and malformed input with exact
//! character offsets.

use doppel_script::{
    parse_text, plain_len, Emotion, Mark, MarkKind, Plan, PlanItem, Prosody, Spoken, SsmlError, TextSpan,
};

use crate::spans;

fn plan(text: &str) -> Plan {
    match parse_text(text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?} should parse: {e}"),
    }
}

fn error(text: &str) -> SsmlError {
    match parse_text(text) {
        Ok(p) => panic!("{text:?} should not parse, got {p:?}"),
        Err(e) => e,
    }
}

/// Character offset of the first `needle` in `text`.
fn char_at(text: &str, needle: &str) -> usize {
    let byte = text.find(needle).expect("needle in text");
    text[..byte].chars().count()
}

fn plain(display: &str) -> PlanItem {
    PlanItem::Text(TextSpan {
        display: display.into(),
        spoken: Spoken::AsWritten,
        prosody: Prosody::default(),
        word_group: None,
    })
}

fn emotion(e: Emotion) -> PlanItem {
    PlanItem::Mark(Mark { name: e.as_str().into(), kind: MarkKind::Emotion { emotion: e } })
}

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() < 1e-4
}

#[test]
fn plain_text_is_one_span() {
    assert_eq!(plan("Hello, everyone. I'm Yunling.").items, [plain("Hello, everyone. I'm Yunling.")]);
    assert_eq!(plan("").items, []);
    assert_eq!(plan("   \n ").items, []);
}

#[test]
fn whitespace_runs_collapse_and_ends_are_trimmed() {
    assert_eq!(plan("  Hello \n\n\t world  ").items, [plain("Hello world")]);
    let p = plan("<speak>\n  <p>Hello</p>\n  <p>world</p>\n</speak>");
    assert_eq!(p.display_text(), "Hello world");
    let p = plan("a <mark name=\"m\"/> b");
    assert_eq!(p.display_text(), "a b");
}

#[test]
fn plain_text_keeps_a_literal_less_than() {
    assert_eq!(plan("a < b").items, [plain("a < b")]);
    assert_eq!(plan("x<y and 1 <3 and <b>bold</b>").display_text(), "x<y and 1 <3 and <b>bold</b>");
    assert_eq!(plan("Tom & Jerry &unknown; &amp;").display_text(), "Tom & Jerry &unknown; &");
    // Known tags are still parsed in plain text.
    let p = plan("a < b <break time=\"1s\"/> c");
    assert_eq!(p.items, [plain("a < b "), PlanItem::Break { ms: 1000 }, plain("c")]);
}

#[test]
fn chinese_example_from_the_vendor_docs() {
    let p = plan(
        "<speak><emotion type=\"HAPPY\"><insert-action name=\"双手指尖交触\" tag=\"system_female_animation_0026\"/>大家好，<break time=\"200ms\"/>我是小云。</emotion></speak>",
    );
    assert_eq!(
        p.items,
        [
            emotion(Emotion::Happy),
            PlanItem::Mark(Mark {
                name: "双手指尖交触".into(),
                kind: MarkKind::Action { tag: Some("system_female_animation_0026".into()) },
            }),
            plain("大家好，"),
            PlanItem::Break { ms: 200 },
            plain("我是小云。"),
            emotion(Emotion::Neutral),
        ]
    );
    assert_eq!(plain_len(&p), 9);
}

#[test]
fn mixed_chinese_and_english() {
    let p = plan("我用doppel做视频, ok? <prosody rate=\"fast\">Let's go 出发</prosody>!");
    assert_eq!(p.display_text(), "我用doppel做视频, ok? Let's go 出发!");
    let s = spans(&p);
    assert_eq!(s.len(), 3);
    assert!(close(s[1].prosody.rate, 1.25));
    assert_eq!(plain_len(&p), "我用doppel做视频, ok? Let's go 出发!".chars().count());
}

#[test]
fn nested_prosody_multiplies() {
    let p = plan("<speak><prosody rate=\"1.5\">a<prosody rate=\"1.2\" volume=\"+6dB\" pitch=\"low\">b</prosody>c</prosody>d</speak>");
    let s = spans(&p);
    assert_eq!(s.iter().map(|t| t.display.as_str()).collect::<Vec<_>>(), ["a", "b", "c", "d"]);
    assert!(close(s[0].prosody.rate, 1.5));
    assert!(close(s[1].prosody.rate, 1.8));
    assert!(close(s[1].prosody.pitch, 0.75));
    assert!(close(s[1].prosody.volume, 1.9953));
    assert!(close(s[2].prosody.rate, 1.5));
    assert_eq!(s[3].prosody, Prosody::default());

    let p = plan("<prosody rate=\"+50%\"><prosody rate=\"+20%\">x</prosody></prosody><prosody rate=\"80%\" pitch=\"-20%\" volume=\"x-soft\">y</prosody>");
    let s = spans(&p);
    assert!(close(s[0].prosody.rate, 1.8));
    assert!(close(s[1].prosody.rate, 0.8));
    assert!(close(s[1].prosody.pitch, 0.8));
    assert!(close(s[1].prosody.volume, 0.4));
    let p = plan("<prosody volume=\"silent\">shh</prosody><prosody pitch=\"+12st\">up</prosody>");
    let s = spans(&p);
    assert!(close(s[0].prosody.volume, 0.0));
    assert!(close(s[1].prosody.pitch, 2.0));
}

#[test]
fn prosody_outside_its_range_is_an_error_naming_attribute_and_range() {
    let text = "中文<prosody rate=\"x-fast\">快<prosody rate=\"1.5\">更快</prosody></prosody>";
    let e = error(text);
    assert_eq!(e.offset, char_at(text, "rate=\"1.5\""));
    assert_eq!(e.offset, 35);
    assert!(e.message.contains("rate multiplier 2.25"), "{}", e.message);
    assert!(e.message.contains("0.5–2"), "{}", e.message);
    let e = error("<prosody volume=\"+10dB\">x</prosody>");
    assert!(e.message.contains("volume") && e.message.contains("0–2"), "{}", e.message);
    let e = error("<prosody pitch=\"0.4\">x</prosody>");
    assert!(e.message.contains("pitch"), "{}", e.message);
    let e = error("<prosody rate=\"quick\">x</prosody>");
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("invalid <prosody> rate \"quick\""), "{}", e.message);
    for bad in ["nan", "inf", "1e3", "-1.2", "--5%", "5Hz"] {
        error(&format!("<prosody rate=\"{bad}\">x</prosody>"));
    }
}

#[test]
fn emotion_nesting_emits_start_and_return_marks_in_order() {
    let p = plan("<speak><emotion type=\"happy\">a<emotion type=\"SAD\">b</emotion>c</emotion>d<emotion type=\"Calm\">e</emotion></speak>");
    assert_eq!(
        p.items,
        [
            emotion(Emotion::Happy),
            plain("a"),
            emotion(Emotion::Sad),
            plain("b"),
            emotion(Emotion::Happy),
            plain("c"),
            emotion(Emotion::Neutral),
            plain("d"),
            emotion(Emotion::Calm),
            plain("e"),
            emotion(Emotion::Neutral),
        ]
    );
    let e = error("<speak>开心<emotion type=\"JOY\">x</emotion></speak>");
    assert_eq!(e.offset, 18);
    assert!(e.message.contains("HAPPY, SAD, CALM, ANGER"), "{}", e.message);
    assert!(error("<emotion>x</emotion>").message.contains("required attribute type"));
}

#[test]
fn insert_action_needs_a_name_or_tag() {
    let p = plan("<insert-action tag=\"wave_01\"/>hi<insert-action name=\"点头\"></insert-action>");
    assert_eq!(
        p.items,
        [
            PlanItem::Mark(Mark { name: "wave_01".into(), kind: MarkKind::Action { tag: Some("wave_01".into()) } }),
            plain("hi"),
            PlanItem::Mark(Mark { name: "点头".into(), kind: MarkKind::Action { tag: None } }),
        ]
    );
    let e = error("你好<insert-action/>");
    assert_eq!(e.offset, 2);
    assert!(e.message.contains("name or tag"), "{}", e.message);
}

#[test]
fn mark_emits_a_plain_mark() {
    let p = plan("<speak>one<mark name=\"after_one\"/> two</speak>");
    assert_eq!(
        p.items,
        [plain("one"), PlanItem::Mark(Mark { name: "after_one".into(), kind: MarkKind::Mark }), plain(" two")]
    );
    assert!(error("<mark/>").message.contains("required attribute name"));
    assert!(error("<mark name=\"m\">text</mark>").message.contains("<mark> must be empty"));
}

#[test]
fn break_time_and_strength() {
    let ms = |t: &str| match plan(t).items.as_slice() {
        [PlanItem::Break { ms }] => *ms,
        other => panic!("{other:?}"),
    };
    assert_eq!(ms("<break time=\"200ms\"/>"), 200);
    assert_eq!(ms("<break time=\"1.5s\"/>"), 1500);
    assert_eq!(ms("<break time=\" 2S \"/>"), 2000);
    assert_eq!(ms("<break time='10s'/>"), 10_000);
    assert_eq!(ms("<break time=\"10000ms\"/>"), 10_000);
    assert_eq!(ms("<break/>"), 400);
    assert_eq!(ms("<break></break>"), 400);
    for (strength, expected) in
        [("none", 0), ("x-weak", 100), ("weak", 200), ("medium", 400), ("strong", 700), ("x-strong", 1000)]
    {
        assert_eq!(ms(&format!("<break strength=\"{strength}\"/>")), expected);
    }
    assert_eq!(ms("<break strength=\"x-strong\" time=\"50ms\"/>"), 50, "time wins over strength");
}

#[test]
fn break_longer_than_10_seconds_is_rejected() {
    for text in ["<break time=\"10.001s\"/>", "<break time=\"10001ms\"/>", "<break time=\"11s\"/>"] {
        let e = error(text);
        assert_eq!(e.offset, 7);
        assert!(e.message.contains("longer than the maximum of 10s"), "{}", e.message);
    }
    let e = error("停<break time=\"fast\"/>");
    assert_eq!(e.offset, 8);
    assert!(e.message.contains("200ms"), "{}", e.message);
    let e = error("停<break strength=\"huge\"/>");
    assert_eq!(e.offset, 8);
    assert!(error("<break time=\"5\"/>").message.contains("invalid <break> time"));
}

#[test]
fn sub_say_as_and_phoneme_become_their_own_spans() {
    let p = plan("<speak>Visit <sub alias=\"World Wide Web\">WWW</sub> now</speak>");
    let s = spans(&p);
    assert_eq!(s.iter().map(|t| t.display.as_str()).collect::<Vec<_>>(), ["Visit ", "WWW", " now"]);
    assert_eq!(s[1].spoken, Spoken::Text("World Wide Web".into()));

    let p = plan(
        "<say-as interpret-as=\"characters\">ABC</say-as><say-as interpret-as=\"telephone\">+86 138-0013</say-as>",
    );
    let s = spans(&p);
    assert_eq!(s[0].spoken, Spoken::Text("A B C".into()));
    assert_eq!(s[1].display, "+86 138-0013");
    assert_eq!(s[1].spoken, Spoken::Text("8 6 1 3 8 0 0 1 3".into()));
    let p = plan("<say-as interpret-as=\"digits\">２０２４</say-as><say-as interpret-as=\"spell-out\">中 文</say-as>");
    assert_eq!(spans(&p)[0].spoken, Spoken::Text("2 0 2 4".into()));
    assert_eq!(spans(&p)[1].spoken, Spoken::Text("中 文".into()));

    // cardinal: read as written, but still a span of its own.
    let p = plan("共<say-as interpret-as=\"cardinal\">2024</say-as>个");
    assert_eq!(p.items, [plain("共"), plain("2024"), plain("个")]);

    let p = plan("<speak>好<phoneme ph=\"liao3\">了</phoneme>吗</speak>");
    assert_eq!(spans(&p)[1].spoken, Spoken::Pinyin("liao3".into()));
    assert_eq!(p.display_text(), "好了吗");
    let p = plan("<phoneme alphabet=\"py\" ph=\"Lv4 se4\">绿色</phoneme><phoneme alphabet=\"ipa\" ph=\"təˈmɑːtoʊ\">tomato</phoneme>");
    assert_eq!(spans(&p)[0].spoken, Spoken::Pinyin("lü4 se4".into()));
    assert_eq!(spans(&p)[1].spoken, Spoken::AsWritten);
    assert_eq!(spans(&p)[1].display, "tomato");

    let e = error("这是<sub>x</sub>");
    assert_eq!(e.offset, 2);
    assert!(e.message.contains("<sub> is missing the required attribute alias"), "{}", e.message);
    let e = error("<sub alias=\"a\">x<break/></sub>");
    assert_eq!(e.offset, 16);
    assert!(e.message.contains("<sub> may contain only text"), "{}", e.message);
}

#[test]
fn word_groups_spans_inside_one_word() {
    let p = plan("<speak><word>重<prosody rate=\"slow\">庆</prosody></word>和<word>长沙<word>市</word></word></speak>");
    let s = spans(&p);
    let groups: Vec<_> = s.iter().map(|t| (t.display.as_str(), t.word_group)).collect();
    assert_eq!(groups, [("重", Some(0)), ("庆", Some(0)), ("和", None), ("长沙市", Some(1))]);
}

#[test]
fn entities_are_decoded() {
    let p = plan("<speak>&lt;tag&gt; &amp; &quot;q&quot; &apos;a&apos; &#20013;&#x6587;&#X41;</speak>");
    assert_eq!(p.display_text(), "<tag> & \"q\" 'a' 中文A");
    let p = plan("<speak><sub alias=\"A &amp; B\">A&amp;B</sub></speak>");
    assert_eq!(spans(&p)[0].spoken, Spoken::Text("A & B".into()));
    let text = "<speak>中文&nbsp;</speak>";
    let e = error(text);
    assert_eq!(e.offset, 9);
    assert!(e.message.contains("unknown entity &nbsp;"), "{}", e.message);
    assert_eq!(error("<speak>中文 & 英文</speak>").offset, 10);
    assert_eq!(error("<speak>中&#xD800;</speak>").offset, 8);
}

#[test]
fn xml_prolog_comments_cdata_and_containers_are_accepted() {
    let p = plan("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- intro -->\n<speak version=\"1.0\" xml:lang=\"zh-CN\"><p><s>你好<!-- 注释 --></s><s><![CDATA[a < b & c]]></s></p></speak>\n<!-- end -->\n");
    assert_eq!(p.items, [plain("你好a < b & c")]);
    let p = plan("\u{feff}<speak>hi</speak>");
    assert_eq!(p.items, [plain("hi")]);
    assert_eq!(plan("<speak/>").items, []);
}

#[test]
fn malformed_ssml_reports_character_offsets() {
    // Chinese text before each error: byte offsets would be about three times larger.
    let cases: [(&str, usize, &str); 16] = [
        ("中文<prosody rate=\"fast\">世界", 2, "unclosed <prosody>"),
        ("<speak>中文<prosody rate=\"fast\">世界</speak>", 32, "mismatched closing tag </speak>, expected </prosody>"),
        ("<speak>中文</prosody></speak>", 9, "closing tag </prosody>"),
        ("<speak>你好<foo/></speak>", 9, "unknown tag <foo> (supported: speak, break, prosody"),
        ("<speak>你好</foo></speak>", 9, "unknown tag </foo>"),
        ("<speak>你好<break time=\"1s\"", 9, "unterminated tag <break"),
        ("<speak>你好<break time=1s/></speak>", 16, "must be quoted"),
        ("<speak>你好<break time=\"1s/></speak>", 26, "'<' is not allowed"),
        ("<speak>你好<break time=\"1s\" time=\"2s\"/></speak>", 26, "duplicate attribute time"),
        ("<speak>你好<break time/></speak>", 16, "has no value"),
        ("<speak>你好<!-- 注释</speak>", 9, "unterminated comment"),
        ("<speak>你好</speak>再见", 17, "text after the root <speak> element"),
        ("<speak>你好</speak><speak>再见</speak>", 17, "content after the root <speak> element"),
        ("<speak>你好<speak>再见</speak></speak>", 9, "<speak> is allowed only as the root element"),
        ("<speak>你好", 0, "unclosed <speak>"),
        ("<speak>你好 < 再见</speak>", 10, "write &lt;"),
    ];
    for (text, offset, message) in cases {
        let e = error(text);
        assert_eq!(e.offset, offset, "{text}: {e}");
        assert!(e.message.contains(message), "{text}: {e}");
    }
    assert_eq!(
        error("<speak>中文<prosody rate=\"fast\">世界</speak>").offset,
        char_at("<speak>中文<prosody rate=\"fast\">世界</speak>", "</speak>")
    );
    let e = error("<?xml version=\"1.0\"?><p>x</p>");
    assert!(e.message.contains("root element must be <speak>"), "{e}");
    assert!(error("<?xml version=\"1.0\"?>").message.contains("missing the root <speak>"));
    assert_eq!(error("中文<say-as>x</say-as>").offset, 2);
}

#[test]
fn unknown_tags_are_text_in_plain_mode_but_errors_in_strict_mode() {
    assert_eq!(plan("你好<foo/>").display_text(), "你好<foo/>");
    assert_eq!(plan("<speakers>").display_text(), "<speakers>");
    assert!(error("<speak>你好<foo/></speak>").message.contains("supported: "));
    // A known tag in plain text must be well-formed.
    assert_eq!(error("你好<break time=\"x\"/>").offset, 9);
    assert_eq!(error("你好</word>").offset, 2);
}

#[test]
fn nesting_is_capped_at_64() {
    let ok = format!("<speak>{}x{}</speak>", "<s>".repeat(63), "</s>".repeat(63));
    assert_eq!(plan(&ok).display_text(), "x");
    let deep = format!("<speak>{}x{}</speak>", "<s>".repeat(64), "</s>".repeat(64));
    let e = error(&deep);
    assert_eq!(e.offset, 7 + 63 * 3);
    assert!(e.message.contains("deeper than 64"), "{}", e.message);
    let e = error(&"<p>".repeat(100_000));
    assert_eq!(e.offset, 64 * 3);
}

#[test]
fn plain_len_counts_display_characters() {
    let p = plan("<speak><prosody rate=\"fast\">中文</prosody> and <sub alias=\"x\">ab</sub></speak>");
    assert_eq!(p.display_text(), "中文 and ab");
    assert_eq!(plain_len(&p), 9);
}

#[test]
fn plans_serialize_for_the_speech_engine() {
    let p = plan("<speak><emotion type=\"CALM\">hi<break time=\"1s\"/></emotion></speak>");
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(
        v["items"][0],
        serde_json::json!({"type": "mark", "name": "CALM", "kind": "emotion", "emotion": "CALM"})
    );
    assert_eq!(v["items"][2], serde_json::json!({"type": "break", "ms": 1000}));
}
