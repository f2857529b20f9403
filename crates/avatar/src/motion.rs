//! Motion: what the avatar does at every frame, from a speech timeline. Mouth shapes frame by frame; actions
//! from cues; emotion changes with a short cross-fade; seeded natural blinking; breathing; small head movement
//! that follows speech; and idle gestures at an interval while speaking when no action plays.
//!
//! Pure and deterministic: the same input and seed give the same frames.

use crate::manifest::{ActionDef, BoneTransform};
use crate::{Emotion, Error, EyeState, FrameState, MouthShape, Result, Rig, Shape};
use doppel_lipsync::Rng;

/// Something the script asks for at a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Cue {
    pub at_ms: u32,
    pub kind: CueKind,
}

/// What a cue asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum CueKind {
    /// Start an action (by name or tag).
    Action(String),
    /// Change the expression.
    Emotion(Emotion),
}

/// Tuning of the motion.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MotionOptions {
    pub fps: u32,
    /// A small idle gesture this often while speaking (MetaStudio `action_interval`); `None` for none.
    pub idle_interval_ms: Option<u32>,
    /// Seed of blinks and idle choices.
    pub seed: u64,
    /// Length of an emotion cross-fade.
    pub emotion_transition_ms: u32,
}

impl Default for MotionOptions {
    fn default() -> Self {
        MotionOptions { fps: 25, idle_interval_ms: Some(4000), seed: 1, emotion_transition_ms: 240 }
    }
}

/// The input of [`Motion::plan`].
#[derive(Debug, Clone, Copy)]
pub struct MotionInput<'a> {
    pub duration_ms: u32,
    /// The mouth shape of each frame.
    pub mouth: &'a [Shape],
    /// Spoken words as `(start_ms, end_ms)`.
    pub words: &'a [(u32, u32)],
    pub cues: &'a [Cue],
}

#[derive(Debug, Clone)]
struct Playing {
    start_ms: u32,
    action: ActionDef,
}

/// The planned motion of one take: ask it for any frame.
#[derive(Debug, Clone)]
pub struct Motion {
    fps: u32,
    frames: usize,
    /// Bone names in pose order.
    bones: Vec<String>,
    body: Option<usize>,
    head: Option<usize>,
    mouth: Vec<Shape>,
    actions: Vec<Playing>,
    blinks: Vec<u32>,
    emotions: Vec<(u32, Emotion)>,
    transition_ms: u32,
    nods: Vec<u32>,
    speaking: Vec<(u32, u32)>,
    /// A photo avatar's head holds still while silent (and breathing does not move a photo).
    still_when_silent: bool,
}

/// Ease-in-out between keyframes: `(1 − cos πu) / 2`.
fn ease(u: f32) -> f32 {
    (1.0 - (u.clamp(0.0, 1.0) * std::f32::consts::PI).cos()) / 2.0
}

/// The bone offsets of an action `t_ms` after it started (rest outside it).
pub fn sample_action(action: &ActionDef, bones: &[String], t_ms: f32, out: &mut [BoneTransform]) {
    let kf = &action.keyframes;
    if kf.is_empty() || t_ms < 0.0 || t_ms > action.duration_ms as f32 {
        return;
    }
    let i = kf.iter().rposition(|k| k.t_ms as f32 <= t_ms).unwrap_or(0);
    let a = &kf[i];
    let b = kf.get(i + 1).unwrap_or(a);
    let span = (b.t_ms as f32 - a.t_ms as f32).max(1.0);
    let u = if std::ptr::eq(a, b) { 0.0 } else { ease((t_ms - a.t_ms as f32) / span) };
    for (bi, name) in bones.iter().enumerate() {
        let ta = a.bones.get(name).copied().unwrap_or(BoneTransform::REST);
        let tb = b.bones.get(name).copied().unwrap_or(BoneTransform::REST);
        if let Some(o) = out.get_mut(bi) {
            *o = o.add(ta.lerp(tb, u));
        }
    }
}

impl Motion {
    /// Plans the motion of a take for `rig`. Unknown action names are an error naming the avatar's actions.
    pub fn plan(rig: &Rig, input: &MotionInput<'_>, opts: &MotionOptions) -> Result<Motion> {
        let fps = opts.fps.max(1);
        let frames = (input.duration_ms as u64 * fps as u64).div_ceil(1000) as usize;
        let mut rng = Rng(opts.seed ^ 0xD0_99E1);
        // Requested actions.
        let mut actions = Vec::new();
        let mut emotions = Vec::new();
        for cue in input.cues {
            match &cue.kind {
                CueKind::Action(name) => {
                    let action = rig.action(name).ok_or_else(|| Error::UnknownAction {
                        avatar: rig.id.clone(),
                        action: name.clone(),
                        available: rig.actions.iter().map(|a| a.name.clone()).collect(),
                    })?;
                    actions.push(Playing { start_ms: cue.at_ms, action: action.clone() });
                }
                CueKind::Emotion(e) => emotions.push((cue.at_ms, *e)),
            }
        }
        emotions.sort_by_key(|e| e.0);
        // Idle gestures while speaking, where nothing else plays.
        let idles: Vec<&ActionDef> = rig.actions.iter().filter(|a| a.name.starts_with("idle")).collect();
        let speaking: Vec<(u32, u32)> = input.words.to_vec();
        if let (Some(interval), false, Some(first), Some(last)) =
            (opts.idle_interval_ms, idles.is_empty(), speaking.first(), speaking.last())
        {
            let interval = interval.max(500) as f32;
            let mut t = first.0 as f32 + interval * rng.range(0.6, 1.0);
            while t < last.1 as f32 {
                let pick = idles[(rng.next() % idles.len() as u64) as usize];
                let (s, e) = (t as u32, t as u32 + pick.duration_ms);
                let busy = actions.iter().any(|p| p.start_ms < e + 300 && s < p.start_ms + p.action.duration_ms + 300);
                if !busy && e <= input.duration_ms {
                    actions.push(Playing { start_ms: s, action: pick.clone() });
                    t = e as f32 + interval * rng.range(0.75, 1.25);
                } else {
                    t += 500.0;
                }
            }
        }
        actions.sort_by_key(|a| a.start_ms);
        // Blinks: every 2–6 s, sometimes doubled.
        let mut blinks = Vec::new();
        let mut t = rng.range(600.0, 2500.0);
        while (t as u32) < input.duration_ms {
            blinks.push(t as u32);
            if rng.range(0.0, 1.0) < 0.15 {
                blinks.push(t as u32 + 280);
            }
            t += rng.range(2000.0, 6000.0);
        }
        // Small nods on word onsets, at most one per 600 ms.
        let mut nods = Vec::new();
        let mut last_nod = 0u32;
        for &(s, e) in &speaking {
            if e.saturating_sub(s) >= 120 && (nods.is_empty() || s >= last_nod + 600) && rng.range(0.0, 1.0) < 0.7 {
                nods.push(s);
                last_nod = s;
            }
        }
        Ok(Motion {
            fps,
            frames,
            bones: (0..rig.bone_count()).map(|i| rig.bone_name(i).to_string()).collect(),
            body: rig.bone_index("body"),
            head: rig.bone_index("head"),
            mouth: input.mouth.to_vec(),
            actions,
            blinks,
            emotions,
            transition_ms: opts.emotion_transition_ms.max(1),
            nods,
            speaking,
            still_when_silent: rig.is_photo(),
        })
    }

    /// Number of frames.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Start times of the actions that will play (requested and idle), with their names.
    pub fn scheduled_actions(&self) -> Vec<(u32, &str)> {
        self.actions.iter().map(|p| (p.start_ms, p.action.name.as_str())).collect()
    }

    /// Adds an action (by name or tag) that starts `at_ms` into this take (a live stream's `DoAction`).
    pub fn add_action(&mut self, rig: &Rig, name: &str, at_ms: u32) -> Result<()> {
        let action = rig.action(name).ok_or_else(|| Error::UnknownAction {
            avatar: rig.id.clone(),
            action: name.to_string(),
            available: rig.actions.iter().map(|a| a.name.clone()).collect(),
        })?;
        // An action asked for replaces the idle gestures it would overlap.
        let end = at_ms + action.duration_ms;
        self.actions.retain(|p| {
            !(p.action.name.starts_with("idle") && p.start_ms < end && at_ms < p.start_ms + p.action.duration_ms)
        });
        self.actions.push(Playing { start_ms: at_ms, action: action.clone() });
        self.actions.sort_by_key(|a| a.start_ms);
        Ok(())
    }

    /// The state of frame `i`.
    pub fn state(&self, i: usize) -> FrameState {
        self.state_at(i, (i as u64 * 1000 / self.fps as u64) as u32)
    }

    /// The state of frame `i`, with breathing and the head's slow sway at `clock_ms` of a longer clock: a live
    /// stream plays one take after another, and these keep their phase across the joins.
    pub fn state_at(&self, i: usize, clock_ms: u32) -> FrameState {
        let t = (i as u64 * 1000 / self.fps as u64) as u32;
        let tf = clock_ms as f32;
        let mut pose = vec![BoneTransform::REST; self.bones.len()];
        // Breathing.
        if let Some(b) = self.body.filter(|_| !self.still_when_silent) {
            let phase = (tf / 4200.0) * std::f32::consts::TAU;
            pose[b].dy += phase.sin() * 3.0;
        }
        // Head: a slow sway, livelier while speaking, and small nods on word onsets. The head moves rather than
        // turns (turning a bitmap costs ten times more to draw); actions may still turn it.
        if let Some(h) = self.head {
            let speaking = self.speaking.iter().any(|&(s, e)| t + 200 >= s && t <= e + 200);
            let amp = if self.still_when_silent {
                // Fades in and out over 400 ms around speech, so a photo is exactly itself while silent.
                let gap = self.speaking.iter().map(|&(s, e)| s.saturating_sub(t).max(t.saturating_sub(e))).min();
                gap.map_or(0.0, |g| (1.0 - g as f32 / 400.0).max(0.0))
            } else if speaking {
                1.0
            } else {
                0.45
            };
            let tau = std::f32::consts::TAU;
            pose[h].dx += ((tf / 7300.0 * tau).sin() * 4.0 + (tf / 3100.0 * tau + 1.0).sin() * 2.0) * amp;
            pose[h].dy += (tf / 5300.0 * tau + 2.0).sin() * 1.5 * amp;
            for &n in &self.nods {
                if t >= n && t < n + 360 {
                    let env = ((t - n) as f32 / 360.0 * std::f32::consts::PI).sin();
                    pose[h].dy += env * 5.0;
                }
            }
        }
        // Actions.
        let mut frame_override = None;
        for p in &self.actions {
            if t >= p.start_ms && t <= p.start_ms + p.action.duration_ms {
                sample_action(&p.action, &self.bones, (t - p.start_ms) as f32, &mut pose);
                if let (false, Some(part)) = (p.action.frames.is_empty(), &p.action.frame_part) {
                    let idx = (((t - p.start_ms) as u64 * 25 / 1000) as usize).min(p.action.frames.len() - 1);
                    frame_override = Some((part.clone(), (p.action.name.clone(), idx)));
                }
            }
        }
        // Eyes.
        let mut eyes = EyeState::Open;
        for &b in &self.blinks {
            if t >= b && t < b + 160 {
                eyes = if t < b + 40 || t >= b + 120 { EyeState::Half } else { EyeState::Closed };
            }
        }
        // Emotion.
        let k = self.emotions.iter().rposition(|&(at, _)| at <= t);
        let (emotion, previous, mix) = match k {
            None => (Emotion::Neutral, Emotion::Neutral, 1.0),
            Some(k) => {
                let (at, e) = self.emotions[k];
                let prev = if k > 0 { self.emotions[k - 1].1 } else { Emotion::Neutral };
                (e, prev, ((t - at) as f32 / self.transition_ms as f32).min(1.0))
            }
        };
        FrameState {
            pose,
            eyes,
            mouth: MouthShape(self.mouth.get(i).copied().unwrap_or(Shape::X)),
            emotion,
            previous_emotion: previous,
            emotion_mix: mix,
            frame_override,
        }
    }
}
