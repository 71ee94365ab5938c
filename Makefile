# The front door for people: make, make test, make bench, make demo, make install.
# CMake does the building (build/ for normal builds, build-asan/ and build-tsan/
# for the sanitizer runs of `make test`, build-fuzz/ for the libFuzzer targets,
# build-bench/ optimised for `make bench`).
JOBS ?= $(shell nproc)
PREFIX ?= /usr/local
CMAKE_FLAGS ?=

.PHONY: all build test test-plain test-asan test-tsan test-fuzz fuzz fuzz-build bench demo install clean

all: build

build:
	@scripts/deps.sh build
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)

test: test-plain test-asan test-tsan test-fuzz

test-plain:
	@scripts/deps.sh test
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	cmake --build build -j $(JOBS)
	cd build && ctest --output-on-failure -j $(JOBS)

# The whole suite under AddressSanitizer + UndefinedBehaviorSanitizer: the C tests and the
# integration tests, whose servers (gateway, hello-server, ...) are then instrumented too.
test-asan:
	@scripts/deps.sh test
	cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DSONDE_SANITIZE=address,undefined -DSONDE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ctest --output-on-failure -j $(JOBS)

# The concurrency tests and the integration tests (real servers under load) under ThreadSanitizer.
test-tsan:
	@scripts/deps.sh test
	cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DSONDE_SANITIZE=thread -DSONDE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-tsan -j $(JOBS)
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -L "concurrency|integration"

# libFuzzer targets (tests/fuzz/fuzz_*.c): clang, -fsanitize=fuzzer,address,undefined, in
# build-fuzz/. `make fuzz` runs each for FUZZ_SECONDS, `make test` for 10 s each.
FUZZ_SECONDS ?= 60
fuzz-build:
	@scripts/deps.sh test
	CC=clang CXX=clang++ cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DSONDE_SANITIZE=address,undefined \
		-DSONDE_FUZZ=ON -DCMAKE_C_FLAGS=-fsanitize=fuzzer-no-link \
		-DCMAKE_CXX_FLAGS=-fsanitize=fuzzer-no-link -DSONDE_BUILD_BENCH=OFF >/dev/null
	cmake --build build-fuzz -j $(JOBS) --target fuzz_targets

fuzz: fuzz-build
	tests/fuzz/run.sh build-fuzz $(FUZZ_SECONDS)

test-fuzz: fuzz-build
	tests/fuzz/run.sh build-fuzz 10

bench:
	@scripts/deps.sh bench
	cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release -DSONDE_BUILD_TESTS=OFF >/dev/null
	cmake --build build-bench -j $(JOBS)
	bench/run build-bench

demo:
	@scripts/deps.sh demo
	@$(MAKE) --no-print-directory build
	scripts/demo.sh

install: build
	cmake --install build --prefix $(PREFIX)

clean:
	rm -rf build build-asan build-tsan build-bench build-fuzz
