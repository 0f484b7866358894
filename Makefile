# The README's two commands: `make run` and `make test`.  Plain `make`
# only builds.  Meson + Ninja do the real work in build/.

BUILD ?= build
# Protocol and interop test files run this many at a time (tests/run-all
# --jobs); 1 runs them one by one.
TEST_JOBS ?= 2

.PHONY: all run test deps test-deps clean asan fuzz

all: $(BUILD)/build.ninja
	ninja -C $(BUILD)

$(BUILD)/build.ninja:
	meson setup $(BUILD)

deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-demo $(BUILD)/roost

# The unit tests are optional in a plain build (cmocka is a test-only
# library); here they must be built, so a missing cmocka is an error.
test: test-deps
	@if [ -f $(BUILD)/build.ninja ]; then \
		meson setup --reconfigure -Dunit_tests=enabled $(BUILD); \
	else meson setup -Dunit_tests=enabled $(BUILD); fi
	ninja -C $(BUILD)
	@tests/run-all $(BUILD) --jobs $(TEST_JOBS)

# Every sanitizer finding must end the process (and so fail the test or
# the fuzz run): UBSan only prints and goes on unless told not to recover.
NORECOVER = -fno-sanitize-recover=all

# The unit and protocol tests again under ASan + UBSan (CI runs this).
# A build-asan/ configured before $(NORECOVER) was added is reconfigured.
asan:
	@grep -q -e '$(NORECOVER)' build-asan/build.ninja 2>/dev/null || CC=clang meson setup $$([ -f build-asan/build.ninja ] && echo --reconfigure) build-asan -Dunit_tests=enabled -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1 -Dc_args='$(NORECOVER)' -Dc_link_args='$(NORECOVER)'
	ninja -C build-asan
	ROOST_SANITIZED=1 tests/run-all build-asan --no-interop --jobs $(TEST_JOBS)

# libFuzzer targets (clang), built in build-fuzz/.
fuzz:
	@grep -q -e '$(NORECOVER)' build-fuzz/build.ninja 2>/dev/null || CC=clang meson setup $$([ -f build-fuzz/build.ninja ] && echo --reconfigure) build-fuzz -Dfuzz=true -Dunit_tests=disabled -Db_sanitize=address,undefined -Db_lundef=false -Dc_args='-fsanitize=fuzzer-no-link $(NORECOVER)' -Dc_link_args='$(NORECOVER)'
	ninja -C build-fuzz

clean:
	rm -rf $(BUILD) build-asan build-fuzz
