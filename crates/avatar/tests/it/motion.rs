//! Motion planned from a speech timeline: determinism, blinks, cues, emotion fades, idle gestures, mouth.

use doppel_avatar::motion::{Cue, CueKind, Motion, MotionInput, MotionOptions};
use doppel_avatar::{Emotion, Error, EyeState, FrameState, MouthShape, Shape};

use crate::support::anna_rig;

const DURATION_MS: u32 = 10_000;
const FPS: u32 = 25;
const FRAME_MS: u32 = 1000 / FPS;

/// A 10 s take: a word every 300 ms from 0.5 s to 9 s, mouth shapes cycling every frame.
struct Take {
    mouth: Vec<Shape>,
    words: Vec<(u32, u32)>,
    cues: Vec<Cue>,
}

impl Take {
    fn new(cues: Vec<Cue>) -> Take {
        let frames = (DURATION_MS / FRAME_MS) as usize;
        let mouth = (0..frames).map(|i| Shape::ALL[i % Shape::ALL.len()]).collect();
        let words = (500..9000).step_by(300).map(|s| (s, s + 220)).collect();
        Take { mouth, words, cues }
    }

    /// The wave at 2 s and HAPPY at 1 s.
    fn scripted() -> Take {
        Take::new(vec![
            Cue { at_ms: 2000, kind: CueKind::Action("wave".into()) },
            Cue { at_ms: 1000, kind: CueKind::Emotion(Emotion::Happy) },
        ])
    }

    fn input(&self) -> MotionInput<'_> {
        MotionInput { duration_ms: DURATION_MS, mouth: &self.mouth, words: &self.words, cues: &self.cues }
    }

    fn plan(&self, opts: &MotionOptions) -> Motion {
        Motion::plan(anna_rig(), &self.input(), opts).expect("plan")
    }
}

fn opts(seed: u64, idle_interval_ms: Option<u32>) -> MotionOptions {
    MotionOptions { fps: FPS, idle_interval_ms, seed, ..MotionOptions::default() }
}

fn states(m: &Motion) -> Vec<FrameState> {
    (0..m.frames()).map(|i| m.state(i)).collect()
}

/// Runs of frames with the eyes not fully open: (first frame, eye states).
fn blinks(states: &[FrameState]) -> Vec<(usize, Vec<EyeState>)> {
    let mut out: Vec<(usize, Vec<EyeState>)> = Vec::new();
    for (i, s) in states.iter().enumerate() {
        if s.eyes == EyeState::Open {
            continue;
        }
        match out.last_mut() {
            Some((start, run)) if *start + run.len() == i => run.push(s.eyes),
            _ => out.push((i, vec![s.eyes])),
        }
    }
    out
}

#[test]
fn plan_covers_the_duration_at_the_frame_rate() {
    let take = Take::scripted();
    assert_eq!(take.plan(&opts(1, Some(4000))).frames(), 250);
    let at_30 = Motion::plan(anna_rig(), &take.input(), &MotionOptions { fps: 30, ..opts(1, None) }).expect("plan");
    assert_eq!(at_30.frames(), 300);
}

#[test]
fn same_seed_gives_identical_frames() {
    let take = Take::scripted();
    let a = states(&take.plan(&opts(7, Some(4000))));
    let b = states(&take.plan(&opts(7, Some(4000))));
    assert_eq!(a.len(), 250);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        assert_eq!(x, y, "frame {i}");
    }
    // Asking for frames out of order changes nothing: a frame's state depends only on its index.
    let m = take.plan(&opts(7, Some(4000)));
    for i in [249, 0, 120, 51, 3] {
        assert_eq!(m.state(i), a[i], "frame {i}");
    }
}

#[test]
fn different_seeds_blink_at_different_times() {
    let take = Take::scripted();
    let onsets = |seed| -> Vec<usize> {
        blinks(&states(&take.plan(&opts(seed, Some(4000))))).into_iter().map(|(i, _)| i).collect()
    };
    assert_ne!(onsets(1), onsets(2));
    let all: Vec<Vec<usize>> = (1..=8).map(onsets).collect();
    assert!(all.windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn blinks_are_short_and_two_to_six_seconds_apart() {
    let take = Take::scripted();
    let mut doubled = 0;
    for seed in 0..24 {
        let runs = blinks(&states(&take.plan(&opts(seed, Some(4000)))));
        for (start, run) in &runs {
            assert!(run.len() <= 4, "seed {seed}: blink at frame {start} lasts {} frames", run.len());
            assert_eq!(run.first(), Some(&EyeState::Half), "seed {seed}: blink at frame {start}: {run:?}");
            assert_eq!(run.last(), Some(&EyeState::Half), "seed {seed}: blink at frame {start}: {run:?}");
            assert!(run.contains(&EyeState::Closed), "seed {seed}: blink at frame {start}: {run:?}");
        }
        // A blink may be doubled: a second one about 280 ms after the first. Group those, then measure.
        let mut groups: Vec<u32> = Vec::new();
        let mut last_onset = None;
        for (start, _) in &runs {
            let t = *start as u32 * FRAME_MS;
            match last_onset {
                Some(prev) if t - prev < 1000 => {
                    assert!((240..=320).contains(&(t - prev)), "seed {seed}: double blink {prev} → {t} ms");
                    doubled += 1;
                }
                _ => groups.push(t),
            }
            last_onset = Some(t);
        }
        assert!(groups.len() >= 2, "seed {seed}: only {} blinks in 10 s", groups.len());
        assert!((600..2500 + FRAME_MS).contains(&groups[0]), "seed {seed}: first blink at {} ms", groups[0]);
        for w in groups.windows(2) {
            let gap = w[1] - w[0];
            assert!(
                (2000 - FRAME_MS..=6000 + FRAME_MS).contains(&gap),
                "seed {seed}: {gap} ms between blinks at {} and {} ms",
                w[0],
                w[1]
            );
        }
    }
    assert!(doubled > 0, "no double blink in 24 takes");
}

#[test]
fn wave_cue_moves_the_arm_within_two_frames_of_its_time() {
    let rig = anna_rig();
    // No idle gestures, so the cue is the only difference between the two plans.
    let with = states(&Take::scripted().plan(&opts(3, None)));
    let without_take = Take::new(vec![Cue { at_ms: 1000, kind: CueKind::Emotion(Emotion::Happy) }]);
    let without = states(&without_take.plan(&opts(3, None)));
    let at = (2000 / FRAME_MS) as usize;
    for i in 0..at {
        assert_eq!(with[i], without[i], "frame {i} is before the wave");
    }
    let arm = rig.bone_index("forearm_r").expect("forearm_r");
    let moved = (at..=at + 2).find(|&i| with[i].pose != without[i].pose);
    assert!(moved.is_some(), "the pose does not change within 2 frames of 2000 ms");
    assert!((at..=at + 2).any(|i| with[i].pose[arm].rotate < without[i].pose[arm].rotate - 1.0));
    // Near the peak the forearm is turned far up; after the wave (2.2 s) everything is as without it.
    let peak = ((2000 + 720) / FRAME_MS) as usize;
    assert!(with[peak].pose[arm].rotate < -150.0, "{:?}", with[peak].pose[arm]);
    let end = ((2000 + 2200) / FRAME_MS) as usize + 1;
    for i in end..with.len() {
        assert_eq!(with[i], without[i], "frame {i} is after the wave");
    }
}

#[test]
fn actions_are_found_by_name_or_tag_ignoring_case() {
    let take = Take::new(vec![Cue { at_ms: 500, kind: CueKind::Action("WAVE".into()) }]);
    let m = take.plan(&opts(1, None));
    assert_eq!(m.scheduled_actions(), [(500, "wave")]);
}

#[test]
fn emotion_cue_fades_in_over_240_ms() {
    let m = Take::scripted().plan(&opts(1, Some(4000)));
    let at = (1000 / FRAME_MS) as usize;
    let done = ((1000 + 240) / FRAME_MS) as usize;
    for i in 0..at {
        let s = m.state(i);
        assert_eq!((s.emotion, s.emotion_mix), (Emotion::Neutral, 1.0), "frame {i}");
    }
    let start = m.state(at);
    assert_eq!((start.emotion, start.previous_emotion), (Emotion::Happy, Emotion::Neutral));
    assert!(start.emotion_mix < 0.2, "mix {} at 1000 ms", start.emotion_mix);
    let mut last = start.emotion_mix;
    for i in at + 1..=done {
        let mix = m.state(i).emotion_mix;
        assert!(mix > last, "frame {i}: mix {mix} after {last}");
        last = mix;
    }
    assert_eq!(last, 1.0, "mix at 1240 ms");
    for i in done..m.frames() {
        let s = m.state(i);
        assert_eq!((s.emotion, s.emotion_mix), (Emotion::Happy, 1.0), "frame {i}");
    }
}

#[test]
fn emotion_change_fades_from_the_emotion_before() {
    let take = Take::new(vec![
        Cue { at_ms: 3000, kind: CueKind::Emotion(Emotion::Sad) },
        Cue { at_ms: 1000, kind: CueKind::Emotion(Emotion::Happy) },
    ]);
    let m = take.plan(&MotionOptions { emotion_transition_ms: 400, ..opts(1, None) });
    let s = m.state((3200 / FRAME_MS) as usize);
    assert_eq!((s.emotion, s.previous_emotion), (Emotion::Sad, Emotion::Happy));
    assert!((s.emotion_mix - 0.5).abs() < 1e-6, "{}", s.emotion_mix);
}

#[test]
fn unknown_action_is_an_error_listing_the_avatars_actions() {
    let take = Take::new(vec![Cue { at_ms: 2000, kind: CueKind::Action("moonwalk".into()) }]);
    match Motion::plan(anna_rig(), &take.input(), &opts(1, Some(4000))) {
        Err(e @ Error::UnknownAction { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains("anna") && msg.contains("\"moonwalk\""), "{msg}");
            let avatar = doppel_avatar::builtin_by_id("anna").expect("anna");
            for a in &avatar.manifest.actions {
                assert!(msg.contains(&a.name), "{} not listed in {msg}", a.name);
            }
            if let Error::UnknownAction { available, .. } = e {
                assert_eq!(available.len(), avatar.manifest.actions.len());
            }
        }
        Err(e) => panic!("expected UnknownAction, got {e}"),
        Ok(_) => panic!("moonwalk should be unknown"),
    }
}

#[test]
fn idle_gestures_are_scheduled_only_with_an_interval() {
    let take = Take::scripted();
    let with = take.plan(&opts(1, Some(4000)));
    let idles: Vec<(u32, &str)> =
        with.scheduled_actions().into_iter().filter(|(_, n)| n.starts_with("idle_")).collect();
    assert!(!idles.is_empty(), "{:?}", with.scheduled_actions());
    let without = take.plan(&opts(1, None));
    assert_eq!(without.scheduled_actions(), [(2000, "wave")]);
}

#[test]
fn idle_gestures_stay_within_speech_and_clear_of_requested_actions() {
    let avatar = doppel_avatar::builtin_by_id("anna").expect("anna");
    let duration = |name: &str| avatar.manifest.actions.iter().find(|a| a.name == name).expect("action").duration_ms;
    let take = Take::scripted();
    for seed in 0..16 {
        let m = take.plan(&opts(seed, Some(2000)));
        let scheduled = m.scheduled_actions();
        assert!(scheduled.windows(2).all(|w| w[0].0 <= w[1].0), "sorted by start: {scheduled:?}");
        assert!(scheduled.contains(&(2000, "wave")));
        for &(start, name) in scheduled.iter().filter(|(_, n)| n.starts_with("idle")) {
            let end = start + duration(name);
            assert!(start >= 500 && end <= DURATION_MS, "seed {seed}: {name} at {start}–{end}");
            assert!(start < 9000 + 220, "seed {seed}: {name} starts after the last word");
            // The wave plays 2000–4200 ms; idle gestures keep 300 ms away from it.
            assert!(end + 300 <= 2000 || start >= 4200 + 300, "seed {seed}: {name} at {start}–{end} meets the wave");
        }
    }
}

#[test]
fn mouth_of_each_frame_is_the_inputs() {
    let take = Take::scripted();
    let m = take.plan(&opts(1, Some(4000)));
    for i in 0..m.frames() {
        assert_eq!(m.state(i).mouth, MouthShape(take.mouth[i]), "frame {i}");
    }
    // Frames past the end of the mouth track rest (X).
    let short = Take { mouth: take.mouth[..100].to_vec(), ..Take::scripted() };
    let m = short.plan(&opts(1, Some(4000)));
    assert_eq!(m.state(99).mouth, MouthShape(take.mouth[99]));
    assert_eq!(m.state(100).mouth, MouthShape(Shape::X));
}

#[test]
fn frames_without_speech_or_cues_stay_near_rest() {
    let rig = anna_rig();
    let silent = Take { mouth: Vec::new(), words: Vec::new(), cues: Vec::new() };
    let m = silent.plan(&opts(1, Some(4000)));
    assert!(m.scheduled_actions().is_empty());
    for i in 0..m.frames() {
        let s = m.state(i);
        assert_eq!(s.mouth, MouthShape(Shape::X));
        assert_eq!(s.pose.len(), rig.bone_count());
        for (b, t) in s.pose.iter().enumerate() {
            // Breathing and a slow head sway only: a few pixels and degrees.
            assert!(t.rotate.abs() < 2.0 && t.dx.abs() < 4.0 && t.dy.abs() < 4.0, "frame {i} bone {b}: {t:?}");
            assert!((t.scale - 1.0).abs() < 0.01, "frame {i} bone {b}: {t:?}");
        }
    }
}
