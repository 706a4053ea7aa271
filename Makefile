# The two commands of the Quick start: `make demo` and `make test`. Both install what is missing,
# build, and are cheap to repeat when nothing changed.
JOBS ?= 2
BUILD ?= build
ASAN_BUILD ?= build-asan
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo
WERROR := $(if $(CI),-DSLUICE_WERROR=ON,)

.PHONY: deps build build-asan demo test test-unit test-asan bench soak clean

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) $(WERROR)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON $(WERROR)

build-asan: deps $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target sluice_unit_tests

demo: build
	examples/quickstart/run.sh

# Whole suite in the release build, then the unit tests again under ASan+UBSan.
test: build build-asan
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -L unit -j$(JOBS)

test-unit: build
	cd $(BUILD) && ctest --output-on-failure -L unit -j$(JOBS)

bench: build
	bench/run

# The kill -9 / resume trials and the randomized fault test (tests/e2e/fault_soak_test.sh), many
# more trials than `make test` runs (SOAK_TRIALS each). Replay one fault trial with
# SLUICE_SOAK_SEED=<seed it printed> SLUICE_SOAK_TRIALS=1.
SOAK_TRIALS ?= 50
soak: build
	cd $(BUILD) && SLUICE_CRASH_TRIALS=$(SOAK_TRIALS) ctest --output-on-failure -R 'crash_resume'
	SLUICE_SOAK_TRIALS=$(SOAK_TRIALS) bash tests/e2e/fault_soak_test.sh $(BUILD)/sluice $(CURDIR)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
