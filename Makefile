# doppel's two commands:
#   make run    installs what is missing, builds doppel and runs it on its embedded default
#   make test   installs what is missing and runs every check (format, lints, tests, fuzzing)
# Other targets: build, bench, fuzz, clean.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
OUT ?= out
FUZZ_SECONDS ?= 30

.PHONY: run test deps test-deps build bench fuzz clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	$(CARGO) build --release --locked -p doppel

run: build
	@mkdir -p $(OUT)
	./target/release/doppel speak --voice espeak-en-us-ava \
	  --text "Hello! I am doppel, a digital human you can run yourself. <break time=\"300ms\"/> 大家好，我是doppel。" \
	  -o $(OUT)/hello.wav --timeline $(OUT)/hello.json
	./target/release/doppel render examples/hello-portrait.json -o $(OUT)/hello.mp4 \
	  --cover $(OUT)/hello.jpg --subtitles $(OUT)/hello.srt
	@echo
	@echo "doppel spoke a sample sentence and rendered a sample video:"
	@echo "  audio:    $(OUT)/hello.wav   (play it with: aplay $(OUT)/hello.wav)"
	@echo "  timeline: $(OUT)/hello.json  (words, phonemes, marks and mouth shapes in ms)"
	@echo "  video:    $(OUT)/hello.mp4   (H.264 + AAC; cover $(OUT)/hello.jpg, subtitles $(OUT)/hello.srt)"
	@echo "  more:     ./target/release/doppel avatars | voices | render examples/<name>.json -o out/<name>.mp4"

test: test-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	$(CARGO) test --workspace --locked
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: deps
	$(CARGO) bench --locked -p doppel-speech --bench speech
	$(CARGO) bench --locked -p doppel-render --bench render

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	$(CARGO) clean
	rm -rf $(OUT)
