//! A hand-written parser for `text_config.text`: plain text or MetaStudio SSML, into a speech [`Plan`].
//!
//! # Modes
//! * **Strict SSML**: the text, after leading whitespace, starts with `<speak` or `<?xml`. The whole text must be
//!   well-formed: an optional `<?xml …?>` declaration, comments, and exactly one root `<speak>` element; no text
//!   or element outside it; unknown tags are errors; every `&` starts a valid entity.
//! * **Plain text**: anything else. The supported tags (and their closing forms) are still recognised and
//!   parsed strictly, comments and CDATA sections too, but a `<` that does not begin a supported tag is literal
//!   text (`a < b` reads as written), and so is an `&` that does not begin a valid entity (`Tom & Jerry`).
//!
//! # Tags
//! `<speak>` (root), `<break time= strength=/>`, `<prosody rate= pitch= volume=>`, `<say-as interpret-as=>`,
//! `<sub alias=>`, `<phoneme ph= alphabet=>`, `<word>`, `<emotion type=>`, `<insert-action name= tag=/>`,
//! `<mark name=/>`, and the transparent containers `<s>` and `<p>`. Unknown attributes are ignored; a duplicated
//! attribute is an error. Entities: `&amp; &lt; &gt; &quot; &apos; &#NNN; &#xHH;`.
//!
//! # Decisions
//! * Prosody values are multipliers of the prosody in force, and nested `<prosody>` elements multiply: keywords
//!   (`x-slow` 0.5, `slow` 0.75, `medium`/`default` 1, `fast` 1.25, `x-fast` 1.5; pitch `x-low`…`x-high` the
//!   same; volume `silent` 0, `x-soft` 0.4, `soft` 0.7, `medium` 1, `loud` 1.4, `x-loud` 1.8), `120%` (×1.2),
//!   `+20%`/`-20%` (×1.2/×0.8), a bare number (`1.2`), volume `±NdB` (amplitude ×10^(N/20)) and pitch `±Nst`
//!   (×2^(N/12)). The multiplier in force must stay within rate 0.5–2.0, pitch 0.5–2.0, volume 0–2.0.
//! * `<break>`: `time` (`200ms`, `1.5s`, at most 10 s) wins over `strength` (`none` 0, `x-weak` 100, `weak` 200,
//!   `medium` 400, `strong` 700, `x-strong` 1000 ms); a bare `<break/>` is `medium`.
//! * `<say-as>`: `characters`/`spell-out` speak the characters one by one, `digits`/`telephone` the digits one
//!   by one (ASCII or full-width; other characters are dropped); anything else is read as written.
//! * `<phoneme>`: when `ph` is tone-numbered pinyin (space-separated syllables of latin letters, `ü` written
//!   `ü`, `v` or `u:`, each ending in a tone digit 1–5), the span is spoken as [`Spoken::Pinyin`] normalised to
//!   lower case with `ü`; any other `ph` (IPA, X-SAMPA, …) is ignored and the text read as written.
//! * `<emotion>` emits an emotion mark at its start and, at its end, a mark returning to the enclosing
//!   emotion, or to [`Emotion::Neutral`] (`NEUTRAL`) at the outermost level. `type` is case-insensitive.
//! * `<word>` gives all spans inside one fresh `word_group`; a `<word>` inside a `<word>` keeps the outer group.
//! * `<sub>`, `<say-as>` and `<phoneme>` contain only text (and comments); `<break>`, `<mark>` and
//!   `<insert-action>` must be empty (usually self-closing).
//! * Display text: every run of whitespace (Unicode `White_Space`, newlines included) becomes one space, across
//!   tags too; whitespace at the start and end of the whole text is dropped. Adjacent text with the same
//!   pronunciation, prosody and word group forms one span; the text of `<sub>`, `<say-as>` and `<phoneme>` is
//!   always a span of its own.
//! * Nesting deeper than [`limits::SSML_MAX_DEPTH`] elements is an error. The parser runs in time linear in the
//!   text and never panics.
//!
//! Error offsets count characters (Unicode scalar values) from 0, and point at the `<` of the offending tag,
//! the first character of the offending attribute, or the `&` of a bad entity.

use std::collections::HashSet;

use crate::limits::{self, FloatRange};
use crate::plan::{Emotion, Mark, MarkKind, Plan, PlanItem, Prosody, Spoken, TextSpan};

/// Why a text is not valid SSML, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed SSML at character {offset}: {message}")]
pub struct SsmlError {
    /// Character (not byte) offset into the text, from 0.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// The tags the parser knows, in the order error messages list them.
pub const SUPPORTED_TAGS: &[&str] =
    &["speak", "break", "prosody", "say-as", "sub", "phoneme", "word", "emotion", "insert-action", "mark", "s", "p"];

/// Parses a `text_config.text` (plain text or SSML) into a plan. See the module docs for the rules.
pub fn parse_text(text: &str) -> Result<Plan, SsmlError> {
    let chars: Vec<char> = text.chars().collect();
    Parser::new(&chars).run()
}

/// The number of characters of display text in a plan: the length of the text excluding SSML tags, as the
/// 10,000-character limit counts it.
pub fn plain_len(plan: &Plan) -> usize {
    plan.items
        .iter()
        .map(|i| match i {
            PlanItem::Text(t) => t.display.chars().count(),
            _ => 0,
        })
        .sum()
}

fn err(offset: usize, message: impl Into<String>) -> SsmlError {
    SsmlError { offset, message: message.into() }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tag {
    Speak,
    Break,
    Prosody,
    SayAs,
    Sub,
    Phoneme,
    Word,
    Emotion,
    InsertAction,
    Mark,
    S,
    P,
}

impl Tag {
    fn from_name(name: &str) -> Option<Tag> {
        Some(match name {
            "speak" => Tag::Speak,
            "break" => Tag::Break,
            "prosody" => Tag::Prosody,
            "say-as" => Tag::SayAs,
            "sub" => Tag::Sub,
            "phoneme" => Tag::Phoneme,
            "word" => Tag::Word,
            "emotion" => Tag::Emotion,
            "insert-action" => Tag::InsertAction,
            "mark" => Tag::Mark,
            "s" => Tag::S,
            "p" => Tag::P,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Tag::Speak => "speak",
            Tag::Break => "break",
            Tag::Prosody => "prosody",
            Tag::SayAs => "say-as",
            Tag::Sub => "sub",
            Tag::Phoneme => "phoneme",
            Tag::Word => "word",
            Tag::Emotion => "emotion",
            Tag::InsertAction => "insert-action",
            Tag::Mark => "mark",
            Tag::S => "s",
            Tag::P => "p",
        }
    }

    /// Elements that stand for a point in the text and have no content.
    fn is_empty_element(self) -> bool {
        matches!(self, Tag::Break | Tag::Mark | Tag::InsertAction)
    }
}

/// How the text of a `<sub>`, `<say-as>` or `<phoneme>` is spoken.
#[derive(Debug, Clone)]
enum Leaf {
    Alias(String),
    Characters,
    Digits,
    AsWritten,
    Pinyin(String),
}

/// Prosody in force, as f64 so that nesting multiplies without f32 rounding.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Pros {
    rate: f64,
    pitch: f64,
    volume: f64,
}

impl Pros {
    const NEUTRAL: Pros = Pros { rate: 1.0, pitch: 1.0, volume: 1.0 };

    fn to_plan(self) -> Prosody {
        Prosody { rate: self.rate as f32, pitch: self.pitch as f32, volume: self.volume as f32 }
    }
}

/// An open element.
#[derive(Debug)]
struct Frame {
    tag: Tag,
    /// Offset of its `<`.
    start: usize,
    prosody: Pros,
    word_group: Option<u32>,
    emotion: Emotion,
    /// For `<sub>`, `<say-as>`, `<phoneme>`: how to speak it, and its display text so far.
    leaf: Option<(Leaf, String)>,
}

#[derive(Debug)]
struct Attr {
    name: String,
    value: String,
    /// Offset of the attribute's first character.
    offset: usize,
}

fn attr<'a>(attrs: &'a [Attr], name: &str) -> Option<&'a Attr> {
    attrs.iter().find(|a| a.name == name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Root {
    Before,
    Inside,
    After,
}

/// Collects plan items, collapsing whitespace and merging adjacent text.
#[derive(Debug, Default)]
struct Builder {
    items: Vec<PlanItem>,
    /// The last item is a plain span that may take more text.
    mergeable: bool,
    /// Some display character has been produced.
    any_text: bool,
    /// The last display character produced is a space.
    last_space: bool,
}

impl Builder {
    /// The display character for `c` after whitespace collapsing, or `None` when it disappears.
    fn collapse(&mut self, c: char) -> Option<char> {
        if c.is_whitespace() {
            if !self.any_text || self.last_space {
                return None;
            }
            self.last_space = true;
            Some(' ')
        } else {
            self.any_text = true;
            self.last_space = false;
            Some(c)
        }
    }

    fn push_char(&mut self, c: char, prosody: Prosody, word_group: Option<u32>) {
        let Some(c) = self.collapse(c) else { return };
        if self.mergeable {
            if let Some(PlanItem::Text(span)) = self.items.last_mut() {
                if span.prosody == prosody && span.word_group == word_group {
                    span.display.push(c);
                    return;
                }
            }
        }
        self.items.push(PlanItem::Text(TextSpan {
            display: c.to_string(),
            spoken: Spoken::AsWritten,
            prosody,
            word_group,
        }));
        self.mergeable = true;
    }

    fn push_item(&mut self, item: PlanItem) {
        self.items.push(item);
        self.mergeable = false;
    }

    /// Adds a span of its own (the text of a `<sub>`, `<say-as>`, `<phoneme>`), unless it has nothing to show
    /// and nothing to say.
    fn push_span(&mut self, span: TextSpan) {
        let says_nothing = match &span.spoken {
            Spoken::AsWritten => true,
            Spoken::Text(t) | Spoken::Pinyin(t) => t.trim().is_empty(),
        };
        if span.display.is_empty() && says_nothing {
            return;
        }
        self.push_item(PlanItem::Text(span));
    }

    /// Drops the trailing space of the text and spans left empty by that.
    fn finish(mut self) -> Plan {
        let mut i = self.items.len();
        while i > 0 {
            i -= 1;
            let Some(PlanItem::Text(span)) = self.items.get_mut(i) else { continue };
            let trimmed_len = span.display.trim_end_matches(' ').len();
            span.display.truncate(trimmed_len);
            let empty = span.display.is_empty() && matches!(span.spoken, Spoken::AsWritten);
            if empty {
                self.items.remove(i);
                continue;
            }
            break;
        }
        Plan { items: self.items }
    }
}

struct Parser<'a> {
    chars: &'a [char],
    pos: usize,
    strict: bool,
    /// Offset of the first character that is not whitespace or a byte-order mark.
    first_content: usize,
    root: Root,
    stack: Vec<Frame>,
    out: Builder,
    next_word_group: u32,
}

impl<'a> Parser<'a> {
    fn new(chars: &'a [char]) -> Self {
        let first_content = chars.iter().position(|&c| !(c.is_whitespace() || c == '\u{feff}')).unwrap_or(chars.len());
        let rest = chars.get(first_content..).unwrap_or(&[]);
        let strict = starts_with(rest, "<?xml")
            || (starts_with(rest, "<speak") && rest.get(6).is_none_or(|&c| c.is_whitespace() || c == '>' || c == '/'));
        let pos = usize::from(chars.first() == Some(&'\u{feff}'));
        Parser {
            chars,
            pos,
            strict,
            first_content,
            root: Root::Before,
            stack: Vec::new(),
            out: Builder::default(),
            next_word_group: 0,
        }
    }

    fn run(mut self) -> Result<Plan, SsmlError> {
        while let Some(&c) = self.chars.get(self.pos) {
            match c {
                '<' => self.markup()?,
                '&' => self.ampersand()?,
                _ => {
                    self.text(c, self.pos)?;
                    self.pos += 1;
                }
            }
        }
        if let Some(top) = self.stack.last() {
            return Err(err(top.start, format!("unclosed <{}>", top.tag.name())));
        }
        if self.strict && self.root != Root::After {
            return Err(err(self.chars.len(), "missing the root <speak> element"));
        }
        Ok(self.out.finish())
    }

    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn at(&self, s: &str) -> bool {
        starts_with(self.chars.get(self.pos..).unwrap_or(&[]), s)
    }

    fn skip_ws(&mut self) {
        while self.peek(0).is_some_and(char::is_whitespace) {
            self.pos += 1;
        }
    }

    /// End of the name starting at `from` (equal to `from` when there is none).
    fn scan_name(&self, from: usize) -> usize {
        let mut end = from;
        while self.chars.get(end).is_some_and(|&c| is_name_char(c)) {
            end += 1;
        }
        end
    }

    fn slice(&self, from: usize, to: usize) -> String {
        self.chars.get(from..to).map(|s| s.iter().collect()).unwrap_or_default()
    }

    /// Offset of the next `pat` at or after `from`.
    fn find(&self, from: usize, pat: &str) -> Option<usize> {
        let pat: Vec<char> = pat.chars().collect();
        let first = *pat.first()?;
        let mut i = from;
        while let Some(&c) = self.chars.get(i) {
            if c == first && self.chars.get(i..i + pat.len()) == Some(&pat[..]) {
                return Some(i);
            }
            i += 1;
        }
        None
    }

    /// The prosody, word group and emotion in force at the current point.
    fn context(&self) -> (Pros, Option<u32>, Emotion) {
        match self.stack.last() {
            Some(f) => (f.prosody, f.word_group, f.emotion),
            None => (Pros::NEUTRAL, None, Emotion::Neutral),
        }
    }

    /// One character of text content at `offset`.
    fn text(&mut self, c: char, offset: usize) -> Result<(), SsmlError> {
        let Some(top) = self.stack.last_mut() else {
            if self.strict {
                if c.is_whitespace() || c == '\u{feff}' {
                    return Ok(());
                }
                let place = if self.root == Root::After { "after" } else { "before" };
                return Err(err(offset, format!("text {place} the root <speak> element")));
            }
            self.out.push_char(c, Prosody::default(), None);
            return Ok(());
        };
        if top.tag.is_empty_element() {
            if c.is_whitespace() {
                return Ok(());
            }
            return Err(err(offset, format!("<{}> must be empty", top.tag.name())));
        }
        if let Some((_, display)) = &mut top.leaf {
            if let Some(c) = self.out.collapse(c) {
                display.push(c);
            }
            return Ok(());
        }
        let (prosody, group) = (top.prosody.to_plan(), top.word_group);
        self.out.push_char(c, prosody, group);
        Ok(())
    }

    fn literal_lt(&mut self) -> Result<(), SsmlError> {
        self.text('<', self.pos)?;
        self.pos += 1;
        Ok(())
    }

    fn ampersand(&mut self) -> Result<(), SsmlError> {
        let start = self.pos;
        match decode_entity(self.chars, start) {
            Ok((c, next)) => {
                self.text(c, start)?;
                self.pos = next;
                Ok(())
            }
            Err(message) if self.strict => Err(err(start, message)),
            Err(_) => {
                self.text('&', start)?;
                self.pos += 1;
                Ok(())
            }
        }
    }

    /// At a `<`: a comment, CDATA, declaration, or a tag (or, in plain text, a literal `<`).
    fn markup(&mut self) -> Result<(), SsmlError> {
        let start = self.pos;
        if self.at("<!--") {
            let end = self.find(start + 4, "-->").ok_or_else(|| err(start, "unterminated comment"))?;
            self.pos = end + 3;
            return Ok(());
        }
        if self.at("<![CDATA[") {
            let end = self.find(start + 9, "]]>").ok_or_else(|| err(start, "unterminated CDATA section"))?;
            for i in start + 9..end {
                if let Some(&c) = self.chars.get(i) {
                    self.text(c, i)?;
                }
            }
            self.pos = end + 3;
            return Ok(());
        }
        if self.at("<?") {
            if !self.strict {
                return self.literal_lt();
            }
            let is_decl = start == self.first_content
                && self.at("<?xml")
                && self.peek(5).is_some_and(|c| c.is_whitespace() || c == '?');
            if !is_decl {
                return Err(err(
                    start,
                    "processing instructions are allowed only as the <?xml …?> declaration at the start",
                ));
            }
            let end = self.find(start + 5, "?>").ok_or_else(|| err(start, "unterminated <?xml …?> declaration"))?;
            self.pos = end + 2;
            return Ok(());
        }
        if self.at("<!") {
            if !self.strict {
                return self.literal_lt();
            }
            return Err(err(start, "declarations such as <!DOCTYPE> are not supported"));
        }

        let closing = self.peek(1) == Some('/');
        let name_start = start + 1 + usize::from(closing);
        let name_end = self.scan_name(name_start);
        let name = self.slice(name_start, name_end);
        let slash = if closing { "/" } else { "" };
        let next = self.chars.get(name_end).copied();
        let delimited = next.is_some_and(|c| c.is_whitespace() || c == '>' || c == '/');
        let tag = match Tag::from_name(&name) {
            Some(tag) if delimited => tag,
            _ if !self.strict => return self.literal_lt(),
            Some(_) => {
                return Err(match next {
                    None => err(start, format!("unterminated tag <{slash}{name}")),
                    Some(c) => err(name_end, format!("unexpected character {c:?} in <{slash}{name}>")),
                });
            }
            None if name.is_empty() => {
                return Err(err(start, "'<' must begin a tag; write &lt; for a literal '<'"));
            }
            None => {
                return Err(err(
                    start,
                    format!("unknown tag <{slash}{name}> (supported: {})", SUPPORTED_TAGS.join(", ")),
                ));
            }
        };
        self.pos = name_end;
        if closing {
            self.skip_ws();
            match self.peek(0) {
                Some('>') => self.pos += 1,
                None => return Err(err(start, format!("unterminated tag </{name}"))),
                Some(c) => return Err(err(self.pos, format!("unexpected character {c:?} in </{name}>"))),
            }
            return self.close(tag, start);
        }
        let (attrs, self_closing) = self.attributes(start, tag)?;
        self.open(tag, start, &attrs)?;
        if self_closing {
            self.close(tag, start)?;
        }
        Ok(())
    }

    /// Reads the attributes of an open tag up to and including `>` or `/>`.
    fn attributes(&mut self, tag_start: usize, tag: Tag) -> Result<(Vec<Attr>, bool), SsmlError> {
        let tag_name = tag.name();
        let mut attrs = Vec::new();
        let mut seen = HashSet::new();
        loop {
            self.skip_ws();
            let Some(c) = self.peek(0) else {
                return Err(err(tag_start, format!("unterminated tag <{tag_name}")));
            };
            match c {
                '>' => {
                    self.pos += 1;
                    return Ok((attrs, false));
                }
                '/' => {
                    if self.peek(1) == Some('>') {
                        self.pos += 2;
                        return Ok((attrs, true));
                    }
                    return Err(err(self.pos, format!("expected '>' after '/' in <{tag_name}>")));
                }
                _ => {}
            }
            let start = self.pos;
            let end = self.scan_name(start);
            if end == start {
                return Err(err(start, format!("unexpected character {c:?} in <{tag_name}>")));
            }
            let name = self.slice(start, end);
            self.pos = end;
            self.skip_ws();
            if self.peek(0) != Some('=') {
                return Err(err(start, format!("attribute {name} of <{tag_name}> has no value")));
            }
            self.pos += 1;
            self.skip_ws();
            let quote = match self.peek(0) {
                Some(q @ ('"' | '\'')) => q,
                _ => return Err(err(start, format!("the value of attribute {name} of <{tag_name}> must be quoted"))),
            };
            self.pos += 1;
            let mut value = String::new();
            loop {
                let Some(c) = self.peek(0) else {
                    return Err(err(start, format!("unterminated value of attribute {name} of <{tag_name}>")));
                };
                if c == quote {
                    self.pos += 1;
                    break;
                }
                if c == '<' {
                    return Err(err(self.pos, format!("'<' is not allowed in the value of attribute {name}")));
                }
                if c == '&' {
                    match decode_entity(self.chars, self.pos) {
                        Ok((decoded, next)) => {
                            value.push(decoded);
                            self.pos = next;
                            continue;
                        }
                        Err(message) if self.strict => return Err(err(self.pos, message)),
                        Err(_) => {}
                    }
                }
                value.push(c);
                self.pos += 1;
            }
            if !seen.insert(name.clone()) {
                return Err(err(start, format!("duplicate attribute {name} in <{tag_name}>")));
            }
            attrs.push(Attr { name, value, offset: start });
        }
    }

    fn required<'b>(&self, attrs: &'b [Attr], name: &str, tag: Tag, start: usize) -> Result<&'b Attr, SsmlError> {
        attr(attrs, name)
            .ok_or_else(|| err(start, format!("<{}> is missing the required attribute {name}", tag.name())))
    }

    fn open(&mut self, tag: Tag, start: usize, attrs: &[Attr]) -> Result<(), SsmlError> {
        if self.stack.len() >= limits::SSML_MAX_DEPTH {
            return Err(err(start, format!("elements are nested deeper than {} levels", limits::SSML_MAX_DEPTH)));
        }
        if self.stack.is_empty() && self.strict {
            if self.root == Root::After {
                return Err(err(start, "content after the root <speak> element"));
            }
            if tag != Tag::Speak {
                return Err(err(start, format!("the root element must be <speak>, found <{}>", tag.name())));
            }
            self.root = Root::Inside;
        } else if tag == Tag::Speak {
            return Err(err(start, "<speak> is allowed only as the root element, at the start of the text"));
        }
        if let Some(top) = self.stack.last() {
            if top.tag.is_empty_element() {
                return Err(err(start, format!("<{}> must be empty", top.tag.name())));
            }
            if top.leaf.is_some() {
                return Err(err(start, format!("<{}> may contain only text", top.tag.name())));
            }
        }
        let (prosody, word_group, emotion) = self.context();
        let mut frame = Frame { tag, start, prosody, word_group, emotion, leaf: None };
        match tag {
            Tag::Speak | Tag::S | Tag::P => {}
            Tag::Break => {
                let ms = break_ms(attrs)?;
                self.out.push_item(PlanItem::Break { ms });
            }
            Tag::Prosody => frame.prosody = apply_prosody(prosody, attrs)?,
            Tag::SayAs => {
                let a = self.required(attrs, "interpret-as", tag, start)?;
                let leaf = match a.value.trim().to_ascii_lowercase().as_str() {
                    "characters" | "spell-out" => Leaf::Characters,
                    "digits" | "telephone" => Leaf::Digits,
                    _ => Leaf::AsWritten,
                };
                frame.leaf = Some((leaf, String::new()));
            }
            Tag::Sub => {
                let a = self.required(attrs, "alias", tag, start)?;
                frame.leaf = Some((Leaf::Alias(a.value.clone()), String::new()));
            }
            Tag::Phoneme => {
                let a = self.required(attrs, "ph", tag, start)?;
                let leaf = match pinyin(&a.value) {
                    Some(p) => Leaf::Pinyin(p),
                    None => Leaf::AsWritten,
                };
                frame.leaf = Some((leaf, String::new()));
            }
            Tag::Word => {
                if word_group.is_none() {
                    frame.word_group = Some(self.next_word_group);
                    self.next_word_group = self.next_word_group.saturating_add(1);
                }
            }
            Tag::Emotion => {
                let a = self.required(attrs, "type", tag, start)?;
                let e = parse_emotion(&a.value).ok_or_else(|| {
                    err(a.offset, format!("invalid emotion type {:?} (allowed: HAPPY, SAD, CALM, ANGER)", a.value))
                })?;
                frame.emotion = e;
                self.out.push_item(emotion_mark(e));
            }
            Tag::InsertAction => {
                let name = attr(attrs, "name").map(|a| a.value.trim()).filter(|v| !v.is_empty());
                let action_tag = attr(attrs, "tag").map(|a| a.value.trim()).filter(|v| !v.is_empty());
                let mark_name = name
                    .or(action_tag)
                    .ok_or_else(|| err(start, "<insert-action> needs a non-empty name or tag attribute"))?;
                self.out.push_item(PlanItem::Mark(Mark {
                    name: mark_name.to_string(),
                    kind: MarkKind::Action { tag: action_tag.map(str::to_string) },
                }));
            }
            Tag::Mark => {
                let a = self.required(attrs, "name", tag, start)?;
                if a.value.trim().is_empty() {
                    return Err(err(a.offset, "<mark> name must not be empty"));
                }
                self.out.push_item(PlanItem::Mark(Mark { name: a.value.clone(), kind: MarkKind::Mark }));
            }
        }
        self.stack.push(frame);
        Ok(())
    }

    fn close(&mut self, tag: Tag, start: usize) -> Result<(), SsmlError> {
        let Some(top) = self.stack.last() else {
            if self.strict && self.root == Root::After {
                return Err(err(start, "content after the root <speak> element"));
            }
            return Err(err(start, format!("closing tag </{}> has no open element", tag.name())));
        };
        if top.tag != tag {
            return Err(err(
                start,
                format!("mismatched closing tag </{}>, expected </{}>", tag.name(), top.tag.name()),
            ));
        }
        let Some(frame) = self.stack.pop() else { return Ok(()) };
        match frame.tag {
            Tag::Speak if self.stack.is_empty() => self.root = Root::After,
            Tag::Emotion => {
                let (_, _, outer) = self.context();
                self.out.push_item(emotion_mark(outer));
            }
            _ => {}
        }
        if let Some((leaf, display)) = frame.leaf {
            let spoken = match leaf {
                Leaf::Alias(alias) => Spoken::Text(alias),
                Leaf::Pinyin(p) => Spoken::Pinyin(p),
                Leaf::AsWritten => Spoken::AsWritten,
                Leaf::Characters => spaced(display.chars().filter(|c| !c.is_whitespace())),
                Leaf::Digits => spaced(display.chars().filter_map(ascii_digit)),
            };
            self.out.push_span(TextSpan {
                display,
                spoken,
                prosody: frame.prosody.to_plan(),
                word_group: frame.word_group,
            });
        }
        Ok(())
    }
}

fn starts_with(chars: &[char], s: &str) -> bool {
    let mut it = chars.iter();
    s.chars().all(|c| it.next() == Some(&c))
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')
}

/// `Spoken::Text` of the characters separated by spaces, or `AsWritten` when there are none.
fn spaced(chars: impl Iterator<Item = char>) -> Spoken {
    let mut out = String::new();
    for c in chars {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push(c);
    }
    if out.is_empty() {
        Spoken::AsWritten
    } else {
        Spoken::Text(out)
    }
}

/// ASCII and full-width digits, as ASCII.
fn ascii_digit(c: char) -> Option<char> {
    match c {
        '0'..='9' => Some(c),
        '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0')),
        _ => None,
    }
}

fn emotion_mark(e: Emotion) -> PlanItem {
    PlanItem::Mark(Mark { name: e.as_str().to_string(), kind: MarkKind::Emotion { emotion: e } })
}

fn parse_emotion(v: &str) -> Option<Emotion> {
    match v.trim().to_ascii_uppercase().as_str() {
        "HAPPY" => Some(Emotion::Happy),
        "SAD" => Some(Emotion::Sad),
        "CALM" => Some(Emotion::Calm),
        "ANGER" => Some(Emotion::Anger),
        _ => None,
    }
}

/// Decodes the entity at `chars[pos] == '&'`: the character and the offset after the `;`.
fn decode_entity(chars: &[char], pos: usize) -> Result<(char, usize), String> {
    const MAX_BODY: usize = 32;
    let body_start = pos + 1;
    let mut end = body_start;
    loop {
        match chars.get(end) {
            Some(';') => break,
            Some(&c) if end - body_start < MAX_BODY && (c.is_ascii_alphanumeric() || c == '#') => end += 1,
            _ => return Err("'&' must begin an entity such as &amp; (write &amp; for a literal '&')".to_string()),
        }
    }
    let body: String = chars.get(body_start..end).map(|s| s.iter().collect()).unwrap_or_default();
    let c = match body.as_str() {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = if let Some(hex) = body.strip_prefix("#x").or_else(|| body.strip_prefix("#X")) {
                (!hex.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit()))
                    .then(|| u32::from_str_radix(hex, 16).ok())
                    .flatten()
            } else if let Some(dec) = body.strip_prefix('#') {
                (!dec.is_empty() && dec.chars().all(|c| c.is_ascii_digit())).then(|| dec.parse::<u32>().ok()).flatten()
            } else {
                return Err(format!("unknown entity &{body};"));
            };
            number.and_then(char::from_u32).filter(|&c| c != '\0')
        }
    };
    match c {
        Some(c) => Ok((c, end + 1)),
        None => Err(format!("invalid character reference &{body};")),
    }
}

/// An unsigned decimal number (`12`, `1.5`, `.5`); no exponent, sign, `inf` or `NaN`.
fn parse_unsigned(s: &str) -> Option<f64> {
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let dots = s.chars().filter(|&c| c == '.').count();
    if digits == 0 || dots > 1 || digits + dots != s.chars().count() {
        return None;
    }
    s.parse().ok()
}

/// A number with an optional sign: `(value, signed)`.
fn parse_signed(s: &str) -> Option<(f64, bool)> {
    if let Some(rest) = s.strip_prefix('+') {
        Some((parse_unsigned(rest)?, true))
    } else if let Some(rest) = s.strip_prefix('-') {
        Some((-parse_unsigned(rest)?, true))
    } else {
        Some((parse_unsigned(s)?, false))
    }
}

/// Shortest readable form of a multiplier (`1.8`, `2.25`, `0.333`).
fn show(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// The duration of a `<break>` in milliseconds.
fn break_ms(attrs: &[Attr]) -> Result<u32, SsmlError> {
    let strength = match attr(attrs, "strength") {
        None => None,
        Some(a) => Some(match a.value.trim().to_ascii_lowercase().as_str() {
            "none" => 0,
            "x-weak" => 100,
            "weak" => 200,
            "medium" => 400,
            "strong" => 700,
            "x-strong" => 1000,
            _ => {
                return Err(err(
                    a.offset,
                    format!(
                        "invalid <break> strength {:?} (allowed: none, x-weak, weak, medium, strong, x-strong)",
                        a.value
                    ),
                ))
            }
        }),
    };
    let Some(a) = attr(attrs, "time") else { return Ok(strength.unwrap_or(400)) };
    let v = a.value.trim().to_ascii_lowercase();
    let ms = if let Some(n) = v.strip_suffix("ms") {
        parse_unsigned(n.trim())
    } else if let Some(n) = v.strip_suffix('s') {
        parse_unsigned(n.trim()).map(|s| s * 1000.0)
    } else {
        None
    };
    let Some(ms) = ms else {
        return Err(err(
            a.offset,
            format!("invalid <break> time {:?}: expected a duration such as \"200ms\" or \"1.5s\"", a.value),
        ));
    };
    let max = f64::from(limits::BREAK_MAX_MS);
    if ms > max {
        return Err(err(
            a.offset,
            format!("<break> time {:?} is longer than the maximum of {}s", a.value, limits::BREAK_MAX_MS / 1000),
        ));
    }
    Ok(ms.round().clamp(0.0, max) as u32)
}

#[derive(Debug, Clone, Copy)]
enum ProsodyAttr {
    Rate,
    Pitch,
    Volume,
}

impl ProsodyAttr {
    fn name(self) -> &'static str {
        match self {
            ProsodyAttr::Rate => "rate",
            ProsodyAttr::Pitch => "pitch",
            ProsodyAttr::Volume => "volume",
        }
    }

    fn range(self) -> FloatRange {
        match self {
            ProsodyAttr::Rate => limits::PROSODY_RATE,
            ProsodyAttr::Pitch => limits::PROSODY_PITCH,
            ProsodyAttr::Volume => limits::PROSODY_VOLUME,
        }
    }

    fn keyword(self, v: &str) -> Option<f64> {
        let m = match (self, v) {
            (_, "default" | "medium") => 1.0,
            (ProsodyAttr::Rate, "x-slow") | (ProsodyAttr::Pitch, "x-low") => 0.5,
            (ProsodyAttr::Rate, "slow") | (ProsodyAttr::Pitch, "low") => 0.75,
            (ProsodyAttr::Rate, "fast") | (ProsodyAttr::Pitch, "high") => 1.25,
            (ProsodyAttr::Rate, "x-fast") | (ProsodyAttr::Pitch, "x-high") => 1.5,
            (ProsodyAttr::Volume, "silent") => 0.0,
            (ProsodyAttr::Volume, "x-soft") => 0.4,
            (ProsodyAttr::Volume, "soft") => 0.7,
            (ProsodyAttr::Volume, "loud") => 1.4,
            (ProsodyAttr::Volume, "x-loud") => 1.8,
            _ => return None,
        };
        Some(m)
    }

    fn expected(self) -> &'static str {
        match self {
            ProsodyAttr::Rate => "x-slow, slow, medium, fast, x-fast, default, a percentage (120%, +20%, -20%) or a multiplier (1.2)",
            ProsodyAttr::Pitch => "x-low, low, medium, high, x-high, default, a percentage (120%, +20%, -20%), semitones (+2st) or a multiplier (1.2)",
            ProsodyAttr::Volume => "silent, x-soft, soft, medium, loud, x-loud, default, a percentage (120%, +20%, -20%), decibels (+6dB) or a multiplier (1.2)",
        }
    }

    /// The multiplier a value stands for.
    fn multiplier(self, value: &str) -> Option<f64> {
        let v = value.trim().to_ascii_lowercase();
        if let Some(m) = self.keyword(&v) {
            return Some(m);
        }
        if let Some(p) = v.strip_suffix('%') {
            let (n, signed) = parse_signed(p.trim())?;
            let m = if signed { 1.0 + n / 100.0 } else { n / 100.0 };
            return (m >= 0.0).then_some(m);
        }
        if let (ProsodyAttr::Volume, Some(db)) = (self, v.strip_suffix("db")) {
            let (n, _) = parse_signed(db.trim())?;
            return Some(10f64.powf(n / 20.0));
        }
        if let (ProsodyAttr::Pitch, Some(st)) = (self, v.strip_suffix("st")) {
            let (n, _) = parse_signed(st.trim())?;
            return Some(2f64.powf(n / 12.0));
        }
        parse_unsigned(&v)
    }
}

/// The prosody inside a `<prosody>` with these attributes, nested inside `parent`.
fn apply_prosody(parent: Pros, attrs: &[Attr]) -> Result<Pros, SsmlError> {
    let mut p = parent;
    for a in attrs {
        let (which, slot) = match a.name.as_str() {
            "rate" => (ProsodyAttr::Rate, &mut p.rate),
            "pitch" => (ProsodyAttr::Pitch, &mut p.pitch),
            "volume" => (ProsodyAttr::Volume, &mut p.volume),
            _ => continue,
        };
        let m = which.multiplier(&a.value).ok_or_else(|| {
            err(a.offset, format!("invalid <prosody> {} {:?}: expected {}", which.name(), a.value, which.expected()))
        })?;
        let value = *slot * m;
        let range = which.range();
        const EPS: f64 = 1e-9;
        if !(value >= range.min - EPS && value <= range.max + EPS) {
            return Err(err(
                a.offset,
                format!(
                    "<prosody> {}={:?} makes the {} multiplier {} (nested <prosody> multiply), out of range {}",
                    which.name(),
                    a.value,
                    which.name(),
                    show(value),
                    range
                ),
            ));
        }
        *slot = value.clamp(range.min, range.max);
    }
    Ok(p)
}

/// Normalised tone-numbered pinyin (`Lü4  hao3` → `lü4 hao3`), or `None` when `ph` is not such pinyin.
fn pinyin(ph: &str) -> Option<String> {
    let mut out = String::new();
    for syllable in ph.split_whitespace() {
        let lower = syllable.to_lowercase().replace("u:", "ü").replace('v', "ü");
        let mut chars = lower.chars();
        let tone = chars.next_back()?;
        let body = chars.as_str();
        if !('1'..='5').contains(&tone) || body.is_empty() || !body.chars().all(|c| c.is_ascii_lowercase() || c == 'ü')
        {
            return None;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&lower);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinyin_is_recognised_and_normalised() {
        assert_eq!(pinyin("liao3").as_deref(), Some("liao3"));
        assert_eq!(pinyin(" Lv4  hao3 ").as_deref(), Some("lü4 hao3"));
        assert_eq!(pinyin("nu:3").as_deref(), Some("nü3"));
        assert_eq!(pinyin("ˈhɛloʊ"), None);
        assert_eq!(pinyin("hao6"), None);
        assert_eq!(pinyin("3"), None);
        assert_eq!(pinyin(""), None);
    }

    #[test]
    fn entities_decode() {
        let chars: Vec<char> = "&#x4E2D;".chars().collect();
        assert_eq!(decode_entity(&chars, 0), Ok(('中', 8)));
        let chars: Vec<char> = "&#x+41;".chars().collect();
        assert!(decode_entity(&chars, 0).is_err());
        let chars: Vec<char> = "&#0;".chars().collect();
        assert!(decode_entity(&chars, 0).is_err());
        let chars: Vec<char> = "&#99999999999999;".chars().collect();
        assert!(decode_entity(&chars, 0).is_err());
    }

    #[test]
    fn numbers_are_strict() {
        assert_eq!(parse_unsigned("1.5"), Some(1.5));
        assert_eq!(parse_unsigned("nan"), None);
        assert_eq!(parse_unsigned("inf"), None);
        assert_eq!(parse_unsigned("1e3"), None);
        assert_eq!(parse_unsigned("."), None);
        assert_eq!(parse_unsigned("1.2.3"), None);
    }
}
