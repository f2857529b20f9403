//! The espeak-ng worker: one process-wide thread that owns libespeak-ng's global state and synthesizes on
//! request, returning PCM and raw events (words, phonemes, pauses) with sample positions.

use std::ffi::{c_int, c_short, CStr, CString};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use crate::ffi;
use crate::{Error, Result};

/// Synthesis settings in espeak-ng's own units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    /// Words per minute, 80–450 (175 normal).
    pub rate: i32,
    /// Base pitch, 0–100 (50 normal).
    pub pitch: i32,
    /// Amplitude, 0–200 (100 normal).
    pub volume: i32,
}

/// An event of one synthesis call; `sample` counts from the start of that call's audio.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RawEvent {
    /// A word starts; `text_start`/`len` are in characters of the synthesized text.
    Word { sample: u32, text_start: usize, len: usize },
    /// A phoneme (IPA) starts.
    Phoneme { sample: u32, ipa: String },
    /// An unnamed phoneme: the previous phoneme ends here (a pause, or a tone/syllable boundary).
    Boundary { sample: u32 },
}

/// The result of one synthesis call.
#[derive(Debug, Clone, Default)]
pub struct Raw {
    pub samples: Vec<i16>,
    pub events: Vec<RawEvent>,
}

struct Job {
    voice: String,
    params: Params,
    text: String,
    reply: Sender<Result<Raw>>,
}

struct Worker {
    jobs: Sender<Job>,
    sample_rate: u32,
}

static WORKER: OnceLock<Mutex<Option<Worker>>> = OnceLock::new();

/// The sample rate espeak-ng produces (22,050 Hz with the standard voices); starts the worker if needed.
pub fn sample_rate() -> Result<u32> {
    with_worker(|w| Ok(w.sample_rate))
}

/// Synthesizes `text` (plain UTF-8, no SSML) with espeak voice name `voice` (e.g. `en-us+f3`).
pub fn synthesize(voice: &str, params: Params, text: &str) -> Result<Raw> {
    let (reply, rx) = channel();
    let job = Job { voice: voice.to_string(), params, text: text.to_string(), reply };
    with_worker(|w| w.jobs.send(job).map_err(|_| Error::Engine("espeak-ng worker has stopped".into())))?;
    rx.recv().map_err(|_| Error::Engine("espeak-ng worker has stopped".into()))?
}

/// The version string of the loaded libespeak-ng.
pub fn version() -> Result<String> {
    with_worker(|_| Ok(()))?;
    // SAFETY: espeak_Info only reads a static version string; the library is initialized by now.
    let v = unsafe { ffi::espeak_Info(std::ptr::null_mut()) };
    if v.is_null() {
        return Ok(String::new());
    }
    // SAFETY: a non-null result is a NUL-terminated static string.
    Ok(unsafe { CStr::from_ptr(v) }.to_string_lossy().into_owned())
}

fn with_worker<T>(f: impl FnOnce(&Worker) -> Result<T>) -> Result<T> {
    let cell = WORKER.get_or_init(|| Mutex::new(None));
    let mut guard = cell.lock().unwrap_or_else(|e| e.into_inner());
    if guard.is_none() {
        *guard = Some(start()?);
    }
    match guard.as_ref() {
        Some(w) => f(w),
        None => Err(Error::Engine("espeak-ng worker did not start".into())),
    }
}

fn start() -> Result<Worker> {
    let (tx, rx) = channel::<Job>();
    let (ready_tx, ready_rx) = channel::<Result<u32>>();
    std::thread::Builder::new()
        .name("espeak-ng".into())
        .spawn(move || {
            // SAFETY: this thread is the only one that ever calls into libespeak-ng.
            let rate = unsafe {
                ffi::espeak_Initialize(
                    ffi::AUDIO_OUTPUT_SYNCHRONOUS,
                    200,
                    std::ptr::null(),
                    ffi::INITIALIZE_PHONEME_EVENTS | ffi::INITIALIZE_PHONEME_IPA | ffi::INITIALIZE_DONT_EXIT,
                )
            };
            if rate <= 0 {
                let _ = ready_tx
                    .send(Err(Error::Engine("espeak-ng failed to initialize (is espeak-ng-data installed?)".into())));
                return;
            }
            // SAFETY: `callback` matches t_espeak_callback.
            unsafe { ffi::espeak_SetSynthCallback(callback) };
            let _ = ready_tx.send(Ok(rate as u32));
            let mut current_voice = String::new();
            let mut current_params: Option<Params> = None;
            for job in rx {
                let result = run_job(&job, &mut current_voice, &mut current_params);
                let _ = job.reply.send(result);
            }
        })
        .map_err(|e| Error::Engine(format!("cannot start the espeak-ng thread: {e}")))?;
    let sample_rate = ready_rx.recv().map_err(|_| Error::Engine("espeak-ng thread died while starting".into()))??;
    Ok(Worker { jobs: tx, sample_rate })
}

fn run_job(job: &Job, current_voice: &mut String, current_params: &mut Option<Params>) -> Result<Raw> {
    if *current_voice != job.voice {
        let name = CString::new(job.voice.as_str()).map_err(|_| Error::Engine("voice name contains NUL".into()))?;
        // SAFETY: called on the espeak thread with a valid C string.
        let rc = unsafe { ffi::espeak_SetVoiceByName(name.as_ptr()) };
        if rc != ffi::EE_OK {
            current_voice.clear();
            return Err(Error::Engine(format!("espeak-ng has no voice {:?}", job.voice)));
        }
        *current_voice = job.voice.clone();
        *current_params = None;
    }
    if *current_params != Some(job.params) {
        // SAFETY: plain parameter setters on the espeak thread.
        unsafe {
            ffi::espeak_SetParameter(ffi::PARAM_RATE, job.params.rate.clamp(80, 450), 0);
            ffi::espeak_SetParameter(ffi::PARAM_PITCH, job.params.pitch.clamp(0, 100), 0);
            ffi::espeak_SetParameter(ffi::PARAM_VOLUME, job.params.volume.clamp(0, 200), 0);
        }
        *current_params = Some(job.params);
    }
    let text = CString::new(job.text.replace('\0', " ")).map_err(|_| Error::Engine("text contains NUL".into()))?;
    let mut raw = Raw::default();
    let bytes = text.as_bytes_with_nul();
    // SAFETY: synchronous mode: espeak_Synth calls `callback` on this thread before it returns, with
    // `user_data` pointing at `raw`, which outlives the call.
    let rc = unsafe {
        ffi::espeak_Synth(
            bytes.as_ptr().cast(),
            bytes.len(),
            0,
            ffi::POS_CHARACTER,
            0,
            ffi::CHARS_UTF8,
            std::ptr::null_mut(),
            (&mut raw as *mut Raw).cast(),
        )
    };
    // SAFETY: waits for the (already finished) synchronous synthesis.
    unsafe { ffi::espeak_Synchronize() };
    if rc != ffi::EE_OK {
        return Err(Error::Engine(format!("espeak_Synth failed with code {rc}")));
    }
    Ok(raw)
}

unsafe extern "C" fn callback(wav: *mut c_short, numsamples: c_int, events: *mut ffi::Event) -> c_int {
    if events.is_null() {
        return 0;
    }
    // SAFETY: espeak passes an array of events terminated by LIST_TERMINATED; every event of one call carries
    // the user_data we gave espeak_Synth (a live `Raw`), and `wav` holds `numsamples` samples when non-null.
    unsafe {
        let raw_ptr = (*events).user_data as *mut Raw;
        if raw_ptr.is_null() {
            return 0;
        }
        let raw = &mut *raw_ptr;
        let mut e = events;
        while (*e).kind != ffi::EVENT_LIST_TERMINATED {
            let sample = (*e).sample.max(0) as u32;
            match (*e).kind {
                ffi::EVENT_WORD => raw.events.push(RawEvent::Word {
                    sample,
                    text_start: ((*e).text_position.max(1) - 1) as usize,
                    len: (*e).length.max(0) as usize,
                }),
                ffi::EVENT_PHONEME => {
                    let bytes = (*e).id.string;
                    let len = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
                    let ipa = String::from_utf8_lossy(&bytes[..len]).into_owned();
                    if ipa.is_empty() {
                        raw.events.push(RawEvent::Boundary { sample });
                    } else {
                        raw.events.push(RawEvent::Phoneme { sample, ipa });
                    }
                }
                _ => {}
            }
            e = e.add(1);
        }
        if !wav.is_null() && numsamples > 0 {
            raw.samples.extend_from_slice(std::slice::from_raw_parts(wav, numsamples as usize));
        }
    }
    0
}
