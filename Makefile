# The README's two commands: `make run` and `make test`.  Plain `make`
# only builds.  Meson + Ninja do the real work in build/.

BUILD ?= build

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
	@tests/run-all $(BUILD)

# The unit and protocol tests again under ASan + UBSan (CI runs this).
asan:
	@[ -f build-asan/build.ninja ] || CC=clang meson setup build-asan -Dunit_tests=enabled -Db_sanitize=address,undefined -Db_lundef=false -Doptimization=1
	ninja -C build-asan
	ROOST_SANITIZED=1 tests/run-all build-asan --no-interop

# libFuzzer targets (clang), built in build-fuzz/.
fuzz:
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dunit_tests=disabled -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
	ninja -C build-fuzz

clean:
	rm -rf $(BUILD) build-asan build-fuzz
