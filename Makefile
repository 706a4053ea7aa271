# The two commands of the Quick start: `make demo` and `make test`. Both install what is missing,
# build, and are cheap to repeat when nothing changed.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
WERROR := $(if $(CI),-DSLUICE_WERROR=ON,)

.PHONY: deps build build-asan build-tsan demo test test-unit test-asan test-tsan test-fuzz fuzz \
	bench soak clean

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) $(WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON $(WERROR)

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target sluice_unit_tests sluice_api_tests

demo: build
	examples/quickstart/run.sh

# Whole suite in the release build, then the unit tests again under ASan+UBSan, the engine's
# concurrency tests under ThreadSanitizer, and every fuzz target for FUZZ_CI_SECONDS.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -L unit -j$(JOBS)
	$(MAKE) --no-print-directory test-tsan
	$(MAKE) --no-print-directory test-fuzz

# ThreadSanitizer (clang-14): the unit tests that run threads. A test named Scheduler*, Pipeline*,
# Engine*, Worker* or *Concurren*/*Parallel* joins automatically; tests/tsan.supp says why each
# suppression is not our code.
TSAN_TESTS ?= BoundedQueue.*:Retry.*:Scheduler*.*:Pipeline*.*:Engine*.*:Worker*.*:*Concurren*:*Parallel*
# Debug (-O0): the tests are small, so compile time counts more than TSan's run time.
$(TSAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=Debug -DSLUICE_TSAN=ON

build-tsan: deps $(TSAN_BUILD)/CMakeCache.txt
	cmake --build $(TSAN_BUILD) -j$(JOBS) --target sluice_unit_tests

# setarch -R: clang 14's TSan cannot map its shadow memory on kernels with vm.mmap_rnd_bits > 28.
test-tsan: build-tsan
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  setarch $$(uname -m) -R $(TSAN_BUILD)/tests/sluice_unit_tests --gtest_filter='$(TSAN_TESTS)'

# libFuzzer targets (tests/fuzz): a bounded run of each in `make test`, longer ones with
# `make fuzz FUZZ_SECONDS=600`. A crash fails the target and names the saved input.
FUZZ_CI_SECONDS ?= 20
FUZZ_SECONDS ?= 300
test-fuzz: deps
	JOBS=$(JOBS) tests/fuzz/run -t $(FUZZ_CI_SECONDS)

fuzz: deps
	JOBS=$(JOBS) tests/fuzz/run -t $(FUZZ_SECONDS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j$(JOBS)

bench: build
	bench/run

# The kill -9 / resume trials, the distributed workers' kill/pause trials and the randomized
# fault test (tests/e2e/fault_soak_test.sh), many
# more trials than `make test` runs (SOAK_TRIALS each). Replay one fault trial with
# SLUICE_SOAK_SEED=<seed it printed> SLUICE_SOAK_TRIALS=1.
SOAK_TRIALS ?= 50
soak: build
	cd $(BUILD) && SLUICE_CRASH_TRIALS=$(SOAK_TRIALS) ctest --output-on-failure -R 'crash_resume'
	SLUICE_SOAK_TRIALS=$(SOAK_TRIALS) SLUICE_SOAK_SEED=$${SLUICE_SOAK_SEED:-$$(( $$(date +%s) % 1000000 ))} \
	  bash tests/e2e/fault_soak_test.sh $(BUILD)/sluice $(CURDIR)
	SLUICE_DIST_TRIALS=$$(( $(SOAK_TRIALS) / 2 )) bash tests/e2e/distributed_test.sh $(BUILD)/sluice $(CURDIR)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) build-fuzz
