use doppel_render::text::{resolve_font, Align, TextRenderer, TextStyle, CJK_FAMILY, MAX_DIMENSION};
use tiny_skia::Pixmap;

fn style(size_px: f32, color: [u8; 4]) -> TextStyle {
    TextStyle { size_px, color, ..TextStyle::default() }
}

/// Pixels with alpha above `min_alpha`.
fn ink(p: &Pixmap, min_alpha: u8) -> usize {
    p.pixels().iter().filter(|c| c.alpha() > min_alpha).count()
}

/// Total alpha, in pixels of full coverage.
fn coverage(p: &Pixmap) -> f64 {
    p.pixels().iter().map(|c| c.alpha() as f64 / 255.0).sum()
}

/// The alpha-weighted centre of the ink.
fn ink_centre(p: &Pixmap) -> (f64, f64) {
    let (mut sx, mut sy, mut s) = (0.0, 0.0, 0.0);
    for (i, c) in p.pixels().iter().enumerate() {
        let a = c.alpha() as f64;
        sx += a * (i as u32 % p.width()) as f64;
        sy += a * (i as u32 / p.width()) as f64;
        s += a;
    }
    (sx / s, sy / s)
}

/// The ink bounding box (alpha above 64): x0, y0, x1, y1 inclusive.
fn ink_box(p: &Pixmap) -> (u32, u32, u32, u32) {
    let mut b = (u32::MAX, u32::MAX, 0, 0);
    for (i, c) in p.pixels().iter().enumerate() {
        if c.alpha() > 64 {
            let (x, y) = (i as u32 % p.width(), i as u32 / p.width());
            b = (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y));
        }
    }
    b
}

/// Columns (x ranges as fractions of the width) that have ink.
fn ink_in_columns(p: &Pixmap, from: f64, to: f64) -> usize {
    let (a, b) = ((p.width() as f64 * from) as u32, (p.width() as f64 * to) as u32);
    p.pixels().iter().enumerate().filter(|(i, c)| (a..b).contains(&(*i as u32 % p.width())) && c.alpha() > 128).count()
}

#[test]
fn english_renders_in_its_colour() {
    let mut r = TextRenderer::new();
    let p = r.render("Hello, world", &style(40.0, [255, 0, 0, 255])).expect("ink");
    assert!(p.width() > 150 && p.width() < 400, "{}x{}", p.width(), p.height());
    assert!(p.height() >= 40 && p.height() < 80, "{}x{}", p.width(), p.height());
    assert!(ink(&p, 200) > 300, "too little ink: {}", ink(&p, 200));
    for c in p.pixels() {
        // Premultiplied pure red: red equals alpha, no green or blue.
        assert_eq!((c.green(), c.blue()), (0, 0));
        assert_eq!(c.red(), c.alpha());
    }
    assert!(p.pixels().iter().any(|c| c.alpha() == 255 && c.red() == 255));
    // The measured block is the drawn one.
    let (w, h) = r.measure("Hello, world", &style(40.0, [255, 0, 0, 255])).unwrap();
    assert!((w - p.width() as f32).abs() < 3.0 && (h - 50.0).abs() < 0.5, "{w}x{h}");
}

#[test]
fn chinese_renders_and_wraps_between_characters() {
    let mut r = TextRenderer::new();
    let text = "欢迎使用数字人视频生成平台这是一段很长的中文字幕用于测试自动换行";
    let one = r.render_block(text, &style(32.0, [255, 255, 255, 255])).expect("ink");
    assert_eq!(one.lines, 1);
    assert!(ink(&one.pixmap, 128) > 2000, "Han ink: {}", ink(&one.pixmap, 128));
    // Each Han character is one em wide.
    let chars = text.chars().count() as f32;
    assert!((one.block_width - 32.0 * chars).abs() < 4.0, "{} for {chars} characters", one.block_width);

    let narrow = TextStyle { max_width: Some(200.0), ..style(32.0, [255, 255, 255, 255]) };
    let wrapped = r.render_block(text, &narrow).expect("ink");
    assert!(wrapped.lines >= 5, "{} lines", wrapped.lines);
    assert!(wrapped.block_width <= 200.0, "{}", wrapped.block_width);
    assert!(wrapped.pixmap.width() <= 204, "{}", wrapped.pixmap.width());
    assert!(wrapped.pixmap.height() >= 5 * 40, "{}", wrapped.pixmap.height());
    assert!(wrapped.pixmap.height() > 4 * one.pixmap.height());
    // The same glyphs, just arranged differently.
    let (a, b) = (coverage(&one.pixmap), coverage(&wrapped.pixmap));
    assert!((a - b).abs() / a < 0.02, "{a} vs {b}");
}

#[test]
fn mixed_chinese_and_english_render_both_scripts() {
    let mut r = TextRenderer::new();
    // A Latin-only family: Han must fall back to Noto Sans CJK SC, not draw missing-glyph boxes.
    let dejavu = TextStyle { font_name: "DejaVu Sans".into(), ..style(40.0, [0, 0, 0, 255]) };
    assert_eq!(r.font_for("DejaVu Sans").0, "DejaVu Sans");
    let fallback = r.render("你好世界", &dejavu).expect("ink");
    let noto = r.render("你好世界", &TextStyle { font_name: CJK_FAMILY.into(), ..dejavu.clone() }).expect("ink");
    let (a, b) = (coverage(&fallback), coverage(&noto));
    assert!((a - b).abs() / b < 0.02, "fallback {a} vs Noto {b}");

    let mixed = r.render("Hello 你好 world 世界", &dejavu).expect("ink");
    for k in 0..4 {
        let (from, to) = (k as f64 / 4.0, (k + 1) as f64 / 4.0);
        assert!(ink_in_columns(&mixed, from, to) > 50, "quarter {k} is empty");
    }
    let mixed_cjk_font = r.render("Hello 你好 world 世界", &style(40.0, [0, 0, 0, 255])).expect("ink");
    assert!(ink(&mixed_cjk_font, 128) > 500);
}

#[test]
fn stroke_outlines_white_text_in_dark() {
    let mut r = TextRenderer::new();
    let plain = style(48.0, [255, 255, 255, 255]);
    let stroked = TextStyle { stroke: Some(([0, 0, 0, 255], 3.0)), ..plain.clone() };
    let dark = |p: &Pixmap| p.pixels().iter().filter(|c| c.alpha() > 200 && c.red() < 60).count();
    for text in ["Subtitle", "字幕描边"] {
        let a = r.render_block(text, &plain).unwrap();
        let b = r.render_block(text, &stroked).unwrap();
        assert_eq!(dark(&a.pixmap), 0, "{text}: dark pixels without a stroke");
        assert!(dark(&b.pixmap) > 300, "{text}: {} dark pixels", dark(&b.pixmap));
        assert!(ink(&b.pixmap, 128) > ink(&a.pixmap, 128) * 3 / 2, "{text}");
        // White fill still on top, and the stroke lies around the same glyphs.
        assert!(b.pixmap.pixels().iter().any(|c| c.alpha() == 255 && c.red() == 255));
        let (ia, ib) = (ink_box(&a.pixmap), ink_box(&b.pixmap));
        let (dx, dy) = (b.block_x - a.block_x, b.block_y - a.block_y);
        let grown = [
            ia.0 as i32 + dx - ib.0 as i32,
            ia.1 as i32 + dy - ib.1 as i32,
            ib.2 as i32 - ia.2 as i32 - dx,
            ib.3 as i32 - ia.3 as i32 - dy,
        ];
        assert!(grown.iter().all(|g| (2..=4).contains(g)), "{text}: ink grew by {grown:?}");
        assert!(b.pixmap.width() >= a.pixmap.width() + 3);
    }
}

#[test]
fn opacity_and_alignment() {
    let mut r = TextRenderer::new();
    let full = r.render("Aa", &style(40.0, [255, 255, 255, 255])).unwrap();
    let half = r.render("Aa", &TextStyle { opacity: 0.5, ..style(40.0, [255, 255, 255, 255]) }).unwrap();
    let max = half.pixels().iter().map(|c| c.alpha()).max().unwrap();
    assert!((126..=129).contains(&max), "{max}");
    assert!((coverage(&full) / coverage(&half) - 2.0).abs() < 0.05);
    assert!(r.render("Aa", &TextStyle { opacity: 0.0, ..style(40.0, [255, 255, 255, 255]) }).is_none());

    // Centred lines share a centre; left-aligned ones a left edge.
    let text = "iii\nWWWWWWWW";
    let centred = r.render_block(text, &TextStyle { align: Align::Center, ..style(40.0, [0, 0, 0, 255]) }).unwrap();
    let left = r.render_block(text, &TextStyle { align: Align::Left, ..style(40.0, [0, 0, 0, 255]) }).unwrap();
    assert_eq!(centred.lines, 2);
    let first_line_centre = |p: &Pixmap| {
        let mut top = p.clone();
        let w = top.width() as usize;
        for px in &mut top.pixels_mut()[w * 50..] {
            *px = tiny_skia::PremultipliedColorU8::TRANSPARENT;
        }
        ink_centre(&top).0
    };
    let mid = centred.block_width as f64 / 2.0 + centred.block_x as f64;
    assert!((first_line_centre(&centred.pixmap) - mid).abs() < 3.0);
    assert!(first_line_centre(&left.pixmap) < mid / 3.0);
}

#[test]
fn hostile_text_never_panics() {
    let mut r = TextRenderer::new();
    let s =
        TextStyle { stroke: Some(([0, 0, 0, 255], 2.0)), max_width: Some(120.0), ..style(24.0, [255, 255, 255, 255]) };
    let samples = [
        "emoji 😀👍🏽👨‍👩‍👧‍👦🇨🇳",
        "control \u{0}\u{7}\u{8}\u{1b}[31m\u{7f}\u{85} chars\r\nnext\rline\u{2028}sep",
        "\u{301}\u{301} lone combining marks",
        "RTL مرحبا بالعالم שלום",
        "zero\u{200b}width\u{feff}\u{200d}joiners",
        "\u{fffd}\u{10ffff}\u{e000} private use",
        "\t\ttabs\t",
        "一",
    ];
    for text in samples {
        let p = r.render(text, &s).unwrap_or_else(|| panic!("{text:?} drew nothing"));
        assert!(p.width() > 0 && p.height() > 0);
        let _ = r.render(text, &TextStyle::default());
    }
    assert!(r.render("", &s).is_none());
    assert!(r.render(" \n\t ", &s).is_none());
    assert!(r.render("\u{0}\u{1}", &s).is_none());

    let long: String = "数字人abc 😀 ".repeat(1000);
    let p = r.render(&long, &TextStyle::default()).unwrap();
    assert!(p.width() <= MAX_DIMENSION);
    let p = r.render(&long, &TextStyle { max_width: Some(300.0), ..TextStyle::default() }).unwrap();
    assert!(p.height() <= MAX_DIMENSION && p.width() <= 310);

    for bad in [
        TextStyle { size_px: f32::NAN, ..TextStyle::default() },
        TextStyle { size_px: -3.0, ..TextStyle::default() },
        TextStyle { size_px: 0.0, ..TextStyle::default() },
    ] {
        assert!(r.render("x", &bad).is_none());
    }
    for odd in [
        TextStyle { max_width: Some(0.0), ..TextStyle::default() },
        TextStyle { max_width: Some(f32::NAN), ..TextStyle::default() },
        TextStyle { max_width: Some(-5.0), ..TextStyle::default() },
        TextStyle { line_height: f32::INFINITY, ..TextStyle::default() },
        TextStyle { line_height: 0.0, opacity: f32::NAN, ..TextStyle::default() },
        TextStyle { stroke: Some(([0, 0, 0, 255], f32::NAN)), ..TextStyle::default() },
        TextStyle { stroke: Some(([0, 0, 0, 255], 1e9)), size_px: 1e9, ..TextStyle::default() },
        TextStyle { size_px: 0.01, ..TextStyle::default() },
    ] {
        let _ = r.render("数字 text", &odd);
    }
}

#[test]
fn font_names_map_to_installed_fonts() {
    assert_eq!(resolve_font("HarmonyOS_Sans_SC_Black"), ("Noto Sans CJK SC", 900));
    assert_eq!(resolve_font("HarmonyOS_Sans_SC_Regular"), ("Noto Sans CJK SC", 400));
    assert_eq!(resolve_font("HarmonyOS_Sans_SC_Thin"), ("Noto Sans CJK SC", 300));
    assert_eq!(resolve_font("harmonyos_sans_sc_bold"), ("Noto Sans CJK SC", 700));
    assert_eq!(resolve_font("SomeVendorFont"), ("Noto Sans CJK SC", 400));
    assert_eq!(resolve_font(""), ("Noto Sans CJK SC", 400));

    let mut r = TextRenderer::new();
    assert_eq!(r.font_for("HarmonyOS_Sans_SC_Black"), ("Noto Sans CJK SC".to_string(), 900));
    assert_eq!(r.font_for("Unknown Font"), ("Noto Sans CJK SC".to_string(), 400));
    let weight = |r: &mut TextRenderer, name: &str| {
        let s = TextStyle { font_name: name.into(), ..style(48.0, [0, 0, 0, 255]) };
        coverage(&r.render("数字人 Avatar", &s).unwrap())
    };
    let black = weight(&mut r, "HarmonyOS_Sans_SC_Black");
    let regular = weight(&mut r, "HarmonyOS_Sans_SC_Regular");
    let thin = weight(&mut r, "HarmonyOS_Sans_SC_Thin");
    let unknown = weight(&mut r, "NoSuchFont");
    // Black draws as Bold (the heaviest installed), clearly heavier; Thin no heavier than Regular.
    assert!(black > regular * 1.3, "black {black} vs regular {regular}");
    assert!(thin <= regular * 1.001, "thin {thin} vs regular {regular}");
    assert!((unknown - regular).abs() < 1e-6);
}
