//! Raw bindings to the part of libespeak-ng's `speak_lib.h` (API revision 12, espeak-ng 1.51) that doppel uses.
//!
//! Only [`crate::espeak`] calls these, and only from its one dedicated thread: espeak-ng keeps global state.

#![allow(dead_code)]

use std::ffi::{c_char, c_int, c_short, c_uint, c_void};

pub const AUDIO_OUTPUT_SYNCHRONOUS: c_int = 2;
pub const INITIALIZE_PHONEME_EVENTS: c_int = 0x0001;
pub const INITIALIZE_PHONEME_IPA: c_int = 0x0002;
pub const INITIALIZE_DONT_EXIT: c_int = 0x8000;

pub const CHARS_UTF8: c_uint = 1;

pub const EVENT_LIST_TERMINATED: c_int = 0;
pub const EVENT_WORD: c_int = 1;
pub const EVENT_SENTENCE: c_int = 2;
pub const EVENT_MARK: c_int = 3;
pub const EVENT_END: c_int = 5;
pub const EVENT_MSG_TERMINATED: c_int = 6;
pub const EVENT_PHONEME: c_int = 7;

pub const PARAM_RATE: c_int = 1;
pub const PARAM_VOLUME: c_int = 2;
pub const PARAM_PITCH: c_int = 3;

pub const POS_CHARACTER: c_int = 1;
pub const EE_OK: c_int = 0;

/// `espeak_EVENT.id`.
#[repr(C)]
#[derive(Clone, Copy)]
pub union EventId {
    pub number: c_int,
    pub name: *const c_char,
    pub string: [u8; 8],
}

/// `espeak_EVENT`.
#[repr(C)]
pub struct Event {
    pub kind: c_int,
    pub unique_identifier: c_uint,
    pub text_position: c_int,
    pub length: c_int,
    pub audio_position: c_int,
    pub sample: c_int,
    pub user_data: *mut c_void,
    pub id: EventId,
}

/// `espeak_VOICE`.
#[repr(C)]
pub struct Voice {
    pub name: *const c_char,
    pub languages: *const c_char,
    pub identifier: *const c_char,
    pub gender: u8,
    pub age: u8,
    pub variant: u8,
    pub xx1: u8,
    pub score: c_int,
    pub spare: *mut c_void,
}

pub type SynthCallback = unsafe extern "C" fn(wav: *mut c_short, numsamples: c_int, events: *mut Event) -> c_int;

unsafe extern "C" {
    pub fn espeak_Initialize(output: c_int, buflength: c_int, path: *const c_char, options: c_int) -> c_int;
    pub fn espeak_SetSynthCallback(cb: SynthCallback);
    pub fn espeak_SetVoiceByName(name: *const c_char) -> c_int;
    pub fn espeak_SetParameter(parameter: c_int, value: c_int, relative: c_int) -> c_int;
    pub fn espeak_Synth(
        text: *const c_void,
        size: usize,
        position: c_uint,
        position_type: c_int,
        end_position: c_uint,
        flags: c_uint,
        unique_identifier: *mut c_uint,
        user_data: *mut c_void,
    ) -> c_int;
    pub fn espeak_Synchronize() -> c_int;
    pub fn espeak_ListVoices(spec: *mut Voice) -> *const *const Voice;
    pub fn espeak_Info(path_data: *mut *const c_char) -> *const c_char;
}
