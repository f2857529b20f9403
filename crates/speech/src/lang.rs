//! Splitting text into language runs and turning Chinese characters into tone-numbered pinyin.
//!
//! espeak-ng 1.51's `cmn` voice reads most Han characters as pinyin followed by English tone numbers, so doppel
//! converts Han text to pinyin itself and speaks it with `cmn-latn-pinyin`. Latin text inside Chinese (and Han
//! text inside English) is spoken by the voice's other-language counterpart.

use pinyin::ToPinyin;

/// Which synthesizer voice speaks a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Mandarin, spoken from pinyin.
    Zh,
    /// Everything else: the voice's latin-script language.
    Latin,
}

/// How a character steers run splitting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Han,
    Latin,
    /// Digits, spaces and punctuation: they belong to the run they stand in.
    Neutral,
}

/// Whether `c` is a CJK ideograph.
pub fn is_han(c: char) -> bool {
    matches!(c as u32,
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2A6DF | 0x2A700..=0x2EBEF | 0x30000..=0x3134F)
}

/// Whether `c` is CJK or full-width punctuation.
pub fn is_cjk_punct(c: char) -> bool {
    matches!(c as u32, 0x3000..=0x303F | 0xFF00..=0xFF65 | 0x2018..=0x201F | 0x2026 | 0x2014)
}

fn class(c: char) -> Class {
    if is_han(c) || is_cjk_punct(c) && c != '\u{3000}' {
        Class::Han
    } else if c.is_alphabetic() {
        Class::Latin
    } else {
        Class::Neutral
    }
}

/// Splits `text` into maximal runs of one language, as char ranges `(lang, start, end)`.
///
/// Neutral characters (digits, spaces, ASCII punctuation) join the run before them; at the start they join the
/// first run that follows. `default` is used for text with no letters at all.
pub fn split_runs(text: &str, default: Lang) -> Vec<(Lang, usize, usize)> {
    let classes: Vec<Class> = text.chars().map(class).collect();
    let first = classes.iter().find_map(|c| match c {
        Class::Han => Some(Lang::Zh),
        Class::Latin => Some(Lang::Latin),
        Class::Neutral => None,
    });
    let mut current = first.unwrap_or(default);
    let mut runs: Vec<(Lang, usize, usize)> = Vec::new();
    let mut start = 0;
    for (i, c) in classes.iter().enumerate() {
        let lang = match c {
            Class::Han => Lang::Zh,
            Class::Latin => Lang::Latin,
            Class::Neutral => current,
        };
        if lang != current {
            if i > start {
                runs.push((current, start, i));
            }
            start = i;
            current = lang;
        }
    }
    if classes.len() > start {
        runs.push((current, start, classes.len()));
    }
    runs
}

/// Tone-numbered pinyin of one Han character (`中` → `zhong1`; the neutral tone is `5`), or `None` when the
/// dictionary has no reading.
pub fn han_pinyin(c: char) -> Option<String> {
    let p = c.to_pinyin()?;
    let mut s = p.with_tone_num_end().to_string();
    if !s.ends_with(|d: char| d.is_ascii_digit()) {
        s.push('5');
    }
    Some(s)
}

/// What a CJK punctuation mark becomes in pinyin text (espeak pauses on ASCII punctuation).
pub fn cjk_punct_ascii(c: char) -> &'static str {
    match c {
        '。' | '．' => ". ",
        '，' | '、' => ", ",
        '！' => "! ",
        '？' => "? ",
        '；' => "; ",
        '：' => ": ",
        '…' => "... ",
        '—' => ", ",
        _ => " ",
    }
}

const DIGITS: [char; 10] = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

/// Reads an ASCII digit string as a Chinese number in Han characters (`2024` → `二千零二十四`). Strings longer
/// than 12 digits, or with a leading zero, are read digit by digit.
pub fn chinese_number(digits: &str) -> String {
    let ds: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    if ds.is_empty() {
        return String::new();
    }
    if ds.len() > 12 || (ds.len() > 1 && ds[0] == 0) {
        return ds.iter().map(|&d| DIGITS[d as usize]).collect();
    }
    let value: u64 = ds.iter().fold(0, |acc, &d| acc * 10 + u64::from(d));
    if value == 0 {
        return "零".to_string();
    }
    let yi = value / 100_000_000;
    let wan = (value / 10_000) % 10_000;
    let rest = value % 10_000;
    let mut out = String::new();
    let mut need_zero = false;
    for (group, unit) in [(yi, "亿"), (wan, "万"), (rest, "")] {
        if group == 0 {
            need_zero = !out.is_empty();
            continue;
        }
        if need_zero || (!out.is_empty() && group < 1000) {
            out.push('零');
        }
        out.push_str(&four_digits(group as u32, out.is_empty()));
        out.push_str(unit);
        need_zero = false;
    }
    out
}

/// 1..=9999 in Han characters; `leading` allows `十二` instead of `一十二` for the first group.
fn four_digits(n: u32, leading: bool) -> String {
    let parts = [(n / 1000, "千"), ((n / 100) % 10, "百"), ((n / 10) % 10, "十"), (n % 10, "")];
    let mut out = String::new();
    let mut zero_pending = false;
    for (i, &(d, unit)) in parts.iter().enumerate() {
        if d == 0 {
            zero_pending = !out.is_empty();
            continue;
        }
        if zero_pending {
            out.push('零');
            zero_pending = false;
        }
        let skip_one = leading && out.is_empty() && d == 1 && i == 2;
        if !skip_one {
            out.push(DIGITS[d as usize]);
        }
        out.push_str(unit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_chinese() {
        assert_eq!(chinese_number("0"), "零");
        assert_eq!(chinese_number("12"), "十二");
        assert_eq!(chinese_number("105"), "一百零五");
        assert_eq!(chinese_number("2024"), "二千零二十四");
        assert_eq!(chinese_number("10000"), "一万");
        assert_eq!(chinese_number("100010"), "十万零一十");
        assert_eq!(chinese_number("007"), "零零七");
    }

    #[test]
    fn runs_split_by_script() {
        let runs = split_runs("我用doppel做视频, ok", Lang::Latin);
        assert_eq!(runs, vec![(Lang::Zh, 0, 2), (Lang::Latin, 2, 8), (Lang::Zh, 8, 13), (Lang::Latin, 13, 15)]);
        assert_eq!(split_runs("123", Lang::Zh), vec![(Lang::Zh, 0, 3)]);
    }

    #[test]
    fn pinyin_has_tone_numbers() {
        assert_eq!(han_pinyin('中').as_deref(), Some("zhong1"));
        assert!(han_pinyin('的').is_some_and(|p| p.ends_with(|c: char| c.is_ascii_digit())));
        assert_eq!(han_pinyin('a'), None);
    }
}
