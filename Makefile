# doppel's two commands:
#   make run    installs what is missing, builds doppel, renders a sample video and runs the server on its
#               embedded default (LISTEN=127.0.0.1:8080, DATA_DIR=doppel-data)
#   make test   installs what is missing, starts what the tests need (PostgreSQL, an S3 server, a Python venv
#               with the vendor SDKs, the face models and test photo) and runs every check (format, lints, tests,
#               fuzzing)
# Other targets: build, bench, bench-api, fuzz, clean.

SHELL := /bin/bash
export PATH := $(HOME)/.cargo/bin:$(PATH)
CARGO ?= cargo
OUT ?= out
FUZZ_SECONDS ?= 30
LISTEN ?= 127.0.0.1:8080
DATA_DIR ?= doppel-data

.PHONY: run test deps test-deps build bench bench-api fuzz clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

build: deps
	$(CARGO) build --release --locked -p doppel

run: build
	@scripts/face-models.sh >/dev/null || echo "make run: the face models could not be set up; photo avatars stay off"
	@mkdir -p $(OUT)
	./target/release/doppel render examples/hello-portrait.json -o $(OUT)/hello.mp4 \
	  --cover $(OUT)/hello.jpg --subtitles $(OUT)/hello.srt
	@echo
	@echo "doppel rendered a sample video: $(OUT)/hello.mp4 (cover $(OUT)/hello.jpg, subtitles $(OUT)/hello.srt)."
	@echo "Now starting the server on its embedded default (SQLite and files in $(DATA_DIR)); Ctrl-C stops it."
	@echo
	./target/release/doppel serve --listen $(LISTEN) --data-dir $(DATA_DIR)

test: test-deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings
	DOPPEL_MODELS_DIR=$$(scripts/face-models.sh --test) && export DOPPEL_MODELS_DIR DOPPEL_REQUIRE_MODELS=1 && \
	  DOPPEL_TEST_DATABASE_URL=$$(scripts/test-postgres.sh) && export DOPPEL_TEST_DATABASE_URL DOPPEL_REQUIRE_POSTGRES=1 && \
	  DOPPEL_TEST_VENV=$$(scripts/test-venv.sh) && export DOPPEL_TEST_VENV DOPPEL_REQUIRE_SDK=1 && \
	  DOPPEL_TEST_S3_ENDPOINT=$$(scripts/test-s3.sh) && export DOPPEL_TEST_S3_ENDPOINT DOPPEL_REQUIRE_S3=1 && \
	  $(CARGO) test --workspace --locked
	scripts/fuzz.sh $(FUZZ_SECONDS)

bench: test-deps
	DOPPEL_MODELS_DIR=$$(scripts/face-models.sh --test) && export DOPPEL_MODELS_DIR && \
	  $(CARGO) bench --locked -p doppel-render --bench render
	$(CARGO) bench --locked -p doppel-speech --bench speech
	$(CARGO) bench --locked -p doppel-speech --bench lipsync
	$(CARGO) bench --locked -p doppel-live --bench capacity
	$(CARGO) bench --locked -p doppel --bench live
	$(CARGO) run --release --locked -p doppel -- lipsync-eval --all-voices

bench-api: deps
	scripts/bench-api.sh

fuzz: deps
	scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	$(CARGO) clean
	rm -rf $(OUT)
