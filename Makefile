# chempysbi build. `make` builds bin/chempysbi; `make deps` installs the Debian
# packages; `make test` runs every unit, MPI and CLI test; `make run` runs the
# main job on the small built-in default.

# The one list of Debian packages the project needs (build, run, test, plots).
DEBIAN_PACKAGES := build-essential pkg-config git openmpi-bin libopenmpi-dev \
  petsc-dev libhdf5-openmpi-dev hdf5-tools libsundials-dev librandom123-dev \
  libopenblas-dev libcmocka-dev libcfitsio-dev gnuplot-nox clang-format \
  slurm-wlm munge

CC      := mpicc
CSTD    := -std=c11 -D_DEFAULT_SOURCE
OPT     ?= -O2 -g
WARN    := -Wall -Wextra -Wno-unused-parameter
PKGS    := petsc hdf5-openmpi cfitsio
CPPFLAGS := -Iinclude -Ibuild $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS  := $(CSTD) $(OPT) $(WARN)
LDLIBS  := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lsundials_cvode -lsundials_nvecserial -lopenblas -lm
TEST_LDLIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

LIB_SRC := $(wildcard src/gce/*.c src/nn/*.c src/sbi/*.c src/par/*.c src/io/*.c src/report/*.c)
CLI_SRC := $(wildcard src/cli/*.c)
LIB_OBJ := $(LIB_SRC:%.c=build/%.o)
CLI_OBJ := $(CLI_SRC:%.c=build/%.o)
UNIT_BIN := $(patsubst tests/unit/%.c,bin/tests/%,$(wildcard tests/unit/test_*.c))
MPI_BIN  := $(patsubst tests/mpi/%.c,bin/tests/%,$(wildcard tests/mpi/mpi_*.c))
BENCH_BIN := $(patsubst benchmarks/%.c,bin/bench/%,$(wildcard benchmarks/bench_*.c))

GIT_VERSION := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

.PHONY: all deps check-deps test test-slurm run bench bench-costs scaling-model format format-check clean version-stamp sanitize
all: check-deps bin/chempysbi

# Fail early, naming the Debian package, when a dependency is missing.
check-deps:
	@command -v mpicc >/dev/null || { echo "error: mpicc not found: install libopenmpi-dev (make deps)"; exit 1; }
	@pkg-config --exists petsc || { echo "error: PETSc not found by pkg-config: install petsc-dev (make deps)"; exit 1; }
	@pkg-config --exists hdf5-openmpi || { echo "error: parallel HDF5 not found: install libhdf5-openmpi-dev (make deps)"; exit 1; }
	@echo '#include <H5pubconf.h>' | $(CC) $(CPPFLAGS) -E -dM - 2>/dev/null | grep -q 'H5_HAVE_PARALLEL 1' || { echo "error: HDF5 was built without parallel support: install libhdf5-openmpi-dev"; exit 1; }
	@echo '#include <cvode/cvode.h>' | $(CC) -E - >/dev/null 2>&1 || { echo "error: SUNDIALS CVODE headers not found: install libsundials-dev (make deps)"; exit 1; }
	@echo '#include <Random123/philox.h>' | $(CC) -E - >/dev/null 2>&1 || { echo "error: Random123 headers not found: install librandom123-dev (make deps)"; exit 1; }
	@pkg-config --exists cfitsio || { echo "error: cfitsio not found by pkg-config: install libcfitsio-dev (make deps)"; exit 1; }
	@echo '#include <cblas.h>' | $(CC) -E - >/dev/null 2>&1 || { echo "error: CBLAS header not found: install libopenblas-dev (make deps)"; exit 1; }

# Only the benchmarks' peer comparisons need these (PyTorch is large).
BENCH_PACKAGES := python3-torch python3-numpy hyperfine

bench-deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $(BENCH_PACKAGES); \
	else echo "run as root:  apt-get update && apt-get install -y $(BENCH_PACKAGES)"; fi

deps:
	@if [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends $(DEBIAN_PACKAGES); \
	else echo "run as root:  apt-get update && apt-get install -y $(DEBIAN_PACKAGES)"; fi

# The version string is rebuilt only when git describe changes.
build/version.h: version-stamp
	@mkdir -p build
	@echo '#define CS_GIT_VERSION "$(GIT_VERSION)"' > build/version.h.new
	@cmp -s build/version.h.new build/version.h && rm build/version.h.new || mv build/version.h.new build/version.h

# -MMD -MP: every object (and test binary) records the headers it includes in a
# .d file beside it, so an edit to any header, private ones (gce_internal.h,
# cli.h) included, rebuilds exactly what includes it.
DEPFLAGS := -MMD -MP

build/%.o: %.c | build/version.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(DEPFLAGS) -c $< -o $@

build/src/io/version.o: build/version.h

lib/libchempysbi.a: $(LIB_OBJ)
	@mkdir -p lib
	ar rcs $@ $^

bin/chempysbi: $(CLI_OBJ) lib/libchempysbi.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) lib/libchempysbi.a $(LDLIBS)

# Test and benchmark binaries are linked straight from their source; their
# dependency files go under build/ with the objects'.
bin/tests/%: tests/unit/%.c lib/libchempysbi.a | build/version.h
	@mkdir -p bin/tests build/tests/unit
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF build/tests/unit/$*.d -MT $@ -o $@ $< lib/libchempysbi.a $(LDLIBS) $(TEST_LDLIBS)

bin/tests/mpi_%: tests/mpi/mpi_%.c lib/libchempysbi.a | build/version.h
	@mkdir -p bin/tests build/tests/mpi
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF build/tests/mpi/mpi_$*.d -MT $@ -o $@ $< lib/libchempysbi.a $(LDLIBS) $(TEST_LDLIBS)

bin/bench/%: benchmarks/%.c lib/libchempysbi.a | build/version.h
	@mkdir -p bin/bench build/benchmarks
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -MF build/benchmarks/$*.d -MT $@ -o $@ $< lib/libchempysbi.a $(LDLIBS)

tests: $(UNIT_BIN) $(MPI_BIN)

test: all tests
	@bash tests/run.sh

# The whole test suite built with AddressSanitizer and UndefinedBehaviorSanitizer
# (gcc's libasan/libubsan). A clean rebuild: the sanitized binaries stay in bin/
# afterwards, so run `make clean && make` before timing anything. Leak checks are
# off: Open MPI and PETSc keep allocations until exit by design. Any sanitizer
# report makes the program exit non-zero, so the test that ran it fails.
SANITIZE_OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
sanitize:
	$(MAKE) clean
	ASAN_OPTIONS=detect_leaks=0:abort_on_error=0:exitcode=86 UBSAN_OPTIONS=print_stacktrace=1:exitcode=87 \
	  $(MAKE) OPT="$(SANITIZE_OPT)" test

# The SLURM pipeline on a private single-node Slurm (also part of make test).
test-slurm: all
	@TEST_ONLY=slurm bash tests/run.sh

run: all
	@bash jobs/run_small.sh

bench: all $(BENCH_BIN)
	@bash benchmarks/run.sh

# The performance model's measured inputs (benchmarks/results/costs.txt), then the model.
bench-costs: all $(BENCH_BIN)
	@bash benchmarks/costs.sh

scaling-model: all $(BENCH_BIN)
	@bash benchmarks/scaling_model

FORMAT_FILES = $(wildcard src/*/*.c include/chempysbi/*.h tests/*/*.c benchmarks/*.c)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES) && echo "format-check: ok"

clean:
	rm -rf build lib bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(wildcard build/tests/*/*.d build/benchmarks/*.d)
