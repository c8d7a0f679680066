# kms-agent: the commands the README promises. Everything here needs only a Rust toolchain.
CARGO ?= cargo

.PHONY: build test lint fmt

build:
	$(CARGO) build --release --bin kms

test:
	$(CARGO) test --all-targets

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

fmt:
	$(CARGO) fmt --all
