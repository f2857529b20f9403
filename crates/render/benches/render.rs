//! Workload benchmark: render a 60-second script at 1080x1920 and at 720x1280 with x264 veryfast, and in the
//! same run encode the very frames of that render (decoded to raw YUV beforehand) with the same encoder settings:
//! the encode-only floor for the same content. Reports fps and the ratio render / floor. The render and the floor
//! each run twice, alternating, and the faster run of each counts (a 2-core machine's timings wander by several
//! percent from one minute to the next). Also reported: drawing alone (patches painted and converted, nothing
//! encoded), per frame.
//!
//! With the face models and the astronaut photo (`scripts/face-models.sh --test`) a third case renders the photo
//! avatar at 720x1280 (the same words, without gestures).
//!
//! `make bench` or `cargo bench -p doppel-render --bench render`; prints a Markdown table.

use std::path::Path;
use std::time::Instant;

use doppel_media::decode::VideoReader;
use doppel_media::{EncodeOptions, Encoder, VideoCodec};
use doppel_render::{prepare, RenderOptions};
use doppel_speech::EspeakTts;
use yuvutils_rs::{rgba_to_yuv420, BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix};

const TEXT: &str = "<speak>Good morning, and welcome to the quarterly review. <insert-action name=\"wave\"/>I am glad \
you could join us today. Our team shipped three new products this season, and customers responded with \
enthusiasm. <emotion type=\"HAPPY\">Revenue grew by twelve percent, while costs stayed flat.</emotion> \
<insert-action name=\"present\"/>We opened offices in two new cities and hired forty engineers. <break time=\"400ms\"/> \
Next quarter we will focus on quality, speed, and the experience of every person who uses our platform. \
<insert-action name=\"point\"/>On the left you can see the plan for the coming months. We will release two \
updates, improve the documentation, and listen closely to your feedback. <emotion type=\"CALM\">None of this \
would be possible without your hard work, your patience, and your ideas.</emotion> <insert-action name=\"nod\"/>\
Please bring your questions to the meeting on Friday, where the product leads will present their plans in \
detail. Before we close, a few words about the roadmap. In the first month we will finish the new editor, \
<insert-action name=\"present\"/>in the second month we will open the public beta, and in the third month we will \
prepare the launch. Every step will be shared with you in the weekly notes. Thank you for listening, and have a \
wonderful week. <insert-action name=\"bow\"/></speak>";

struct YuvFrame {
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
}

fn to_yuv(rgba: &[u8], w: u32, h: u32) -> YuvFrame {
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut f =
        YuvFrame { y: vec![0; (w * h) as usize], u: vec![0; (cw * ch) as usize], v: vec![0; (cw * ch) as usize] };
    let mut img = YuvPlanarImageMut {
        y_plane: BufferStoreMut::Borrowed(&mut f.y),
        y_stride: w,
        u_plane: BufferStoreMut::Borrowed(&mut f.u),
        u_stride: cw,
        v_plane: BufferStoreMut::Borrowed(&mut f.v),
        v_stride: cw,
        width: w,
        height: h,
    };
    rgba_to_yuv420(&mut img, rgba, w * 4, YuvRange::Limited, YuvStandardMatrix::Bt709, YuvConversionMode::Balanced)
        .expect("yuv");
    f
}

/// Encodes pre-decoded frames (and the same soundtrack) with the render's encoder settings.
fn encode_floor(frames: &[YuvFrame], audio: &[f32], opts: &EncodeOptions, out: &Path) -> f64 {
    let per_frame = (48_000 / 25) * 2;
    let start = Instant::now();
    let mut enc = Encoder::create(out, opts).expect("encoder");
    let (w, h) = (opts.width as usize, opts.height as usize);
    for (i, f) in frames.iter().enumerate() {
        let p = enc.planes();
        for (plane, src, pw, ph) in
            [(p.y, &f.y, w, h), (p.u, &f.u, w.div_ceil(2), h.div_ceil(2)), (p.v, &f.v, w.div_ceil(2), h.div_ceil(2))]
        {
            let (dst, stride) = plane;
            for row in 0..ph {
                dst[row * stride..row * stride + pw].copy_from_slice(&src[row * pw..(row + 1) * pw]);
            }
        }
        enc.push_frame().expect("frame");
        let a = (i * per_frame).min(audio.len());
        enc.push_audio(&audio[a..(a + per_frame).min(audio.len())]).expect("audio");
    }
    enc.finish().expect("finish");
    start.elapsed().as_secs_f64()
}

fn main() {
    let dir = std::env::temp_dir().join(format!("doppel-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let tts = EspeakTts::new();
    let photo = photo_avatar();
    println!("| avatar | size | video | prepare (speech, motion, assets) | render (draw + convert + encode) | render fps | encode-only floor | floor fps | ratio render/floor | real time | drawing alone |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    let mut cases = vec![("anna", 1080u32, 1920u32), ("anna", 720, 1280)];
    match &photo {
        Some(_) => cases.push(("astronaut", 720, 1280)),
        None => eprintln!(
            "no photo avatar case: the face models or astronaut.png are missing (scripts/face-models.sh --test)"
        ),
    }
    for (avatar, w, h) in cases {
        // The photo avatar has no gestures but a nod: its script is the same words without the other actions.
        let text = if avatar == "anna" { TEXT.to_string() } else { without_actions(TEXT) };
        let script = doppel_script::parse_script_value(serde_json::json!({
            "model_asset_id": avatar,
            "video_config": { "codec": "H264", "width": w, "height": h, "is_subtitle_enable": true },
            "shoot_scripts": [{ "sequence_no": 0, "shoot_script": {
                "text_config": { "text": text },
                "background_config": [{ "background_type": "COLOR", "background_color_config": "#DDE6F0" }] } }]
        }))
        .expect("script");
        let out = dir.join(format!("render-{avatar}-{w}x{h}.mp4"));
        let mut opts = RenderOptions::new(&tts);
        opts.avatars = photo.iter().cloned().collect();
        let t = Instant::now();
        let prepared = prepare(&script, &out, &opts).expect("prepare");
        let prep_s = t.elapsed().as_secs_f64();
        // Drawing alone: every frame's patch, painted and converted, nothing encoded.
        let t = Instant::now();
        let mut painter = prepared.painter();
        let mut patch = doppel_render::Patch::new();
        for i in 0..prepared.frames() {
            painter.paint(i, &mut patch).expect("paint");
        }
        let draw_ms = t.elapsed().as_secs_f64() * 1000.0 / prepared.frames() as f64;
        let t = Instant::now();
        let report = prepared.encode(&out, &mut opts).expect("render");
        let mut render_s = t.elapsed().as_secs_f64();
        // The floor: the very frames of the render, decoded to raw YUV before timing.
        let mut reader = VideoReader::open(&out).expect("decode");
        let mut frames = Vec::new();
        while let Some(f) = reader.next_frame().expect("frame") {
            frames.push(to_yuv(&f.data, f.width, f.height));
        }
        let enc_opts = EncodeOptions { width: w, height: h, codec: VideoCodec::H264, ..EncodeOptions::default() };
        let floor_out = dir.join(format!("floor-{avatar}-{w}x{h}.mp4"));
        let mut floor_s = encode_floor(&frames, prepared.audio(), &enc_opts, &floor_out);
        let t = Instant::now();
        prepared.encode(&out, &mut opts).expect("render");
        render_s = render_s.min(t.elapsed().as_secs_f64());
        floor_s = floor_s.min(encode_floor(&frames, prepared.audio(), &enc_opts, &floor_out));
        let n = report.frames as f64;
        println!(
            "| {avatar} | {w}x{h} | {:.1} s, {} frames | {:.2} s | {:.2} s | {:.1} | {:.2} s | {:.1} | {:.2}x | {:.2}x | {:.2} ms a frame |",
            report.duration_ms as f64 / 1000.0,
            report.frames,
            prep_s,
            render_s,
            n / render_s,
            floor_s,
            n / floor_s,
            render_s / floor_s,
            report.duration_ms as f64 / 1000.0 / render_s,
            draw_ms,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The astronaut test photo as a photo avatar, when the face models and the photo are in `models/` (or
/// `DOPPEL_MODELS_DIR`).
fn photo_avatar() -> Option<doppel_avatar::Avatar> {
    let dir = std::env::var_os("DOPPEL_MODELS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models")));
    let models = doppel_face::FaceModels::load(&dir).ok()?;
    let img = doppel_media::image::read_image(&dir.join("astronaut.png")).ok()?;
    let made =
        doppel_render::photo::photo_avatar(&models, "astronaut", "Astronaut", (img.width, img.height), &img.data);
    Some(made.expect("the astronaut passes the photo check").avatar)
}

/// The text without its `<insert-action …/>` tags.
fn without_actions(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find("<insert-action") {
        out.push_str(&rest[..i]);
        rest = rest[i..].find("/>").map_or("", |j| &rest[i + j + 2..]);
    }
    out.push_str(rest);
    out
}
