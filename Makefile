# kms-agent: the commands the README promises. Everything here needs only a Rust toolchain.
CARGO ?= cargo

.PHONY: build test lint fmt demo bench differential

build:
	$(CARGO) build --release --bin kms

test:
	$(CARGO) test --workspace --all-targets --features test-hooks --no-fail-fast

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) clippy --workspace --all-targets --all-features -- -D warnings

fmt:
	$(CARGO) fmt --all

demo:
	scripts/demo.sh

# Writes BENCHMARKS.md (takes a few minutes; not part of `make test`). Uses Go's text/template for
# the engine comparison when a Go toolchain is installed, and says so when it is not.
bench:
	$(CARGO) bench --bench agent_bench

# Random templates rendered by Go's text/template with Sprig and by the engine, differences sorted
# into classes (needs Go 1.23 and Sprig's source; not part of `make test`; see docs/differential.md).
differential:
	tests/fixtures/sprig/regen.sh --build
	$(CARGO) run --release --example differential -- --count $${COUNT:-100000} --seed $${SEED:-1}
