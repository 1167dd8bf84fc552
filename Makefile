# SPDX-License-Identifier: MIT
#
# snpsafe top-level Makefile.
#
#   make              build build/libsnpsafe.a and build/snpsafe
#   make run          build and run the main job with built-in defaults
#   make test         build and run every test: once plain, once under ASan+UBSan,
#                     and tests/test_deps.sh (every program a script runs is installed)
#   make test-plain   only the plain run;  make test-san   only the sanitizer run
#   make bench        build and run the benchmarks (speed goals live here, not in tests)
#   make check-cc     build everything with gcc and clang, -Werror (zero warnings)
#   make kmod-test    build the kernel module and test it in QEMU (see kmod/)
#   make kvm-patch-test  the sieve as a kvm_amd patch (kernel/): the series apply
#                     and are checkpatch --strict clean; kvm-amd.ko built from
#                     Debian's 6.12.95 source with it, proven under snpsafe watch
#   make svg-test     render `repro --svg` in headless Chromium and check the
#                     pixels (tests/svg_render.sh; skipped without chromium)
#   make readme       remake the command output excerpts of README.md and
#                     docs/ERRATUM.md from the built binary
#                     (scripts/readme-excerpts; make test checks them)
#   make fuzz-trace   libFuzzer on the trace reader + replay for FUZZ_TIME s (clang)
#   make fuzz-args    libFuzzer (clang, ASan+UBSan) over the command line for
#                     FUZZ_TIME seconds (default 60); not part of make test
#   make fuzz-config  the same over simulate --config's scenario files (the JSON reader)
#
# Knobs: V=1 prints full command lines; BUILD=dir puts objects elsewhere;
# T=pattern runs only the test binaries whose name contains pattern;
# CC=clang builds with clang.  Layering (cli -> sim -> kvm -> mm, hw) is
# described in docs/ARCHITECTURE.md.

CC      ?= cc
ifeq ($(origin CC),default)
CC      := cc
endif
AR      ?= ar
BUILD   ?= build
SAN     ?= 0

WARNINGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
ifeq ($(SAN),1)
CFLAGS   := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
            -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
ALL_CFLAGS := -std=c11 $(WARNINGS) $(CFLAGS) -MMD -MP
LDLIBS   += -lpthread -lm

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-7s %s\n'
endif

LIB_SRCS   := $(sort $(wildcard src/hw/*.c src/mm/*.c src/kvm/*.c src/trace/*.c src/host/*.c src/guest/*.c src/sim/*.c))
CLI_SRCS   := $(sort $(wildcard src/cli/*.c))
TEST_SRCS  := $(sort $(wildcard tests/test_*.c))
TEST_LIB   := tests/ktap.c
BENCH_SRCS := $(sort $(wildcard bench/bench_*.c))

LIB_OBJS   := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS   := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TEST_BINS  := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)
LIB        := $(BUILD)/libsnpsafe.a
CLI        := $(BUILD)/snpsafe

.PHONY: all run test test-plain test-san tests-build bench check-cc kmod-test kvm-patch-test svg-test readme watch-build watch-test fuzz-trace fuzz-args fuzz-config clean
.DEFAULT_GOAL := all
.SUFFIXES:

all: $(LIB) $(CLI)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(quiet) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	$(quiet) AR $@
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(CLI): $(CLI_OBJS) $(LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/ktap.o $(LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/tests/ktap.o $(LIB) $(LDLIBS)

# The kernel patch's own sev.c code, extracted for tests/test_kpatch_drift.c
# (tests/kpatch/extract.awk): 6.12's is compiled on the shim of the kernel
# API (tests/kpatch/), 7.2's is compared with it.
KPATCH_GEN := $(BUILD)/gen
KPATCH_612 := $(firstword $(wildcard kernel/patches/6.12/0001-*.patch))
KPATCH_72  := $(firstword $(wildcard kernel/patches/7.2/0001-*.patch))

$(KPATCH_GEN)/kpatch_sieve.c: $(KPATCH_612) tests/kpatch/extract.awk
$(KPATCH_GEN)/kpatch_sieve-7.2.c: $(KPATCH_72) tests/kpatch/extract.awk
$(KPATCH_GEN)/kpatch_sieve.c $(KPATCH_GEN)/kpatch_sieve-7.2.c:
	@mkdir -p $(dir $@)
	$(quiet) GEN $@
	$(Q)awk -v patch=$< -f tests/kpatch/extract.awk $< > $@.tmp && mv $@.tmp $@

$(BUILD)/tests/kpatch/kpatch_kernel.o: tests/kpatch/kpatch_kernel.c $(KPATCH_GEN)/kpatch_sieve.c \
		$(KPATCH_GEN)/kpatch_sieve-7.2.c
	@mkdir -p $(dir $@)
	$(quiet) CC $(@:$(BUILD)/%=%)
	$(Q)$(CC) $(CPPFLAGS) -I$(KPATCH_GEN) -DKPATCH_GEN_DIR='"$(abspath $(KPATCH_GEN))"' \
		$(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_kpatch_drift: $(BUILD)/tests/test_kpatch_drift.o \
		$(BUILD)/tests/kpatch/kpatch_kernel.o $(BUILD)/tests/kpatch/kshim_mm.o \
		$(BUILD)/tests/ktap.o $(LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(LIB) $(LDLIBS)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(LIB)
	$(quiet) LD $@
	$(Q)$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Keep test and bench objects: they are rebuilt only when their sources change.
.SECONDARY:

run: $(CLI)
	$(Q)./$(CLI) repro

tests-build: $(TEST_BINS) $(CLI)

test-plain: tests-build
	$(Q)SNPSAFE_BIN=$(CURDIR)/$(CLI) bash tests/run.sh '$(T)' $(BUILD)/tests tests

test-san:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)-san SAN=1 tests-build
	$(Q)SNPSAFE_BIN=$(CURDIR)/$(BUILD)-san/snpsafe bash tests/run.sh '$(T)' $(BUILD)-san/tests

# One run, one closing line: plain and sanitized binaries together, and the
# script tests (tests/test_*.sh: tests/test_deps.sh, what the scripts run;
# tests/test_readme.sh, the README's excerpts against the plain binary).
test:
	$(Q)$(MAKE) --no-print-directory tests-build
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)-san SAN=1 tests-build
	$(Q)SNPSAFE_BIN=$(CURDIR)/$(CLI) SNPSAFE_SAN_BIN=$(CURDIR)/$(BUILD)-san/snpsafe \
		bash tests/run.sh '$(T)' $(BUILD)/tests $(BUILD)-san/tests tests

bench: $(BENCH_BINS) $(CLI)
	$(Q)for b in $(BENCH_BINS); do echo "== $$b"; ./$$b || exit 1; done
	$(Q)echo "== $(CLI) bench" && ./$(CLI) bench --scale-vms 512 --scale-vcpus 4

check-cc:
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)-gcc CC=gcc all tests-build $(BENCH_BINS:$(BUILD)/%=$(BUILD)-gcc/%)
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)-clang CC=clang all tests-build $(BENCH_BINS:$(BUILD)/%=$(BUILD)-clang/%)
	$(quiet) CHECK tests/fuzz
	$(Q)for cc in gcc clang; do for f in tests/fuzz/*.c; do \
		$$cc $(CPPFLAGS) -std=c11 $(WARNINGS) -fsyntax-only $$f || exit 1; done; done

# The tests that boot Debian's kernels install what they need from Debian's
# archive (scripts/debian.sh, apt-get as root): asking for them is the
# consent, so they pass SNPSAFE_INSTALL=1 (README); SNPSAFE_INSTALL=0 makes
# them ask first on a terminal and stop elsewhere.
SNPSAFE_INSTALL ?= 1

kmod-test:
	$(Q)SNPSAFE_INSTALL=$(SNPSAFE_INSTALL) bash kmod/qemu-test.sh

kvm-patch-test: all
	$(Q)SNPSAFE_INSTALL=$(SNPSAFE_INSTALL) bash kernel/test.sh

svg-test: $(CLI)
	$(Q)bash tests/svg_render.sh $(CLI)

readme: $(CLI)
	$(Q)bash scripts/readme-excerpts --bin $(CLI)

# snpsafe watch: the QEMU TCG plugin (needs glib and QEMU's qemu-plugin.h, which
# watch/run.sh fetches from Debian's source package into .cache and passes as
# QEMU_PLUGIN_INC) and the static workload the watched kernel runs.
WATCH_PLUGIN   := $(BUILD)/watch/snpsafe_plugin.so
WATCH_WORKLOAD := $(BUILD)/watch/snpsafe-workload
watch-build: $(WATCH_PLUGIN) $(WATCH_WORKLOAD)

$(WATCH_PLUGIN): watch/snpsafe_plugin.c watch/plugin_logic.h include/snpsafe/trace.h
	@mkdir -p $(dir $@)
	@test -f "$(QEMU_PLUGIN_INC)/qemu-plugin.h" || \
		{ echo "make: QEMU_PLUGIN_INC must name the folder of qemu-plugin.h (see watch/run.sh)" >&2; exit 1; }
	$(quiet) CC $@
	$(Q)$(CC) -std=gnu11 $(WARNINGS) -O2 -g -fPIC -shared -Iinclude -I$(QEMU_PLUGIN_INC) \
		$$(pkg-config --cflags glib-2.0) -o $@ $< -lpthread

$(WATCH_WORKLOAD): watch/workload.c
	@mkdir -p $(dir $@)
	$(quiet) CC $@
	$(Q)$(CC) -std=gnu11 $(WARNINGS) -O2 -static -pthread -o $@ $<

watch-test: all
	$(Q)SNPSAFE_INSTALL=$(SNPSAFE_INSTALL) bash watch/test.sh

# The trace reader and replay under libFuzzer (tests/fuzz/): seeds from the
# replay tests' traces, then FUZZ_TIME seconds; findings land in $(FUZZ_DIR).
FUZZ_TIME ?= 60
FUZZ_DIR  := $(BUILD)-fuzz
FUZZ_SAN  := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

$(FUZZ_DIR)/fuzz_trace: tests/fuzz/fuzz_trace.c $(LIB_SRCS) $(wildcard include/snpsafe/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(quiet) CLANG $@
	$(Q)clang $(CPPFLAGS) -std=c11 $(WARNINGS) -g -O1 $(FUZZ_SAN) -o $@ \
		tests/fuzz/fuzz_trace.c $(LIB_SRCS) -lm -lpthread

$(FUZZ_DIR)/fuzz_seeds: tests/fuzz/fuzz_seeds.c tests/trace_util.h $(BUILD)/tests/ktap.o $(LIB)
	@mkdir -p $(dir $@)
	$(quiet) LD $@
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -o $@ $< $(BUILD)/tests/ktap.o $(LIB) $(LDLIBS)

fuzz-trace: $(FUZZ_DIR)/fuzz_trace $(FUZZ_DIR)/fuzz_seeds
	$(Q)mkdir -p $(FUZZ_DIR)/corpus && $(FUZZ_DIR)/fuzz_seeds $(FUZZ_DIR)/corpus
	$(Q)$(FUZZ_DIR)/fuzz_trace -max_total_time=$(FUZZ_TIME) -max_len=8192 -timeout=20 \
		-print_final_stats=1 -artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus

# The argument fuzzer (tests/fuzz/fuzz_args.c) and the scenario-file fuzzer
# (tests/fuzz/fuzz_config.c, simulate --config): every object built by clang
# with coverage, the target linked with libFuzzer; each corpus grows in
# $(FUZZ_ARGS)/corpus-args or -config, seeded from tests/fuzz/args-seeds or
# config-seeds, with the words of tests/fuzz/args.dict or config.dict.
FUZZ_ARGS  := $(BUILD)-fuzz-args
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_OBJS  := $(filter-out src/cli/main.o,$(CLI_SRCS:%.c=%.o))

fuzz-args fuzz-config: fuzz-%:
	$(Q)$(MAKE) --no-print-directory BUILD=$(FUZZ_ARGS) CC=clang \
		CFLAGS="$(FUZZ_FLAGS) -fsanitize=fuzzer-no-link" \
		$(FUZZ_ARGS)/libsnpsafe.a $(FUZZ_ARGS)/tests/fuzz/fuzz_$*.o $(FUZZ_OBJS:%=$(FUZZ_ARGS)/%)
	$(quiet) LD $(FUZZ_ARGS)/fuzz_$*
	$(Q)clang $(FUZZ_FLAGS) -fsanitize=fuzzer -o $(FUZZ_ARGS)/fuzz_$* $(FUZZ_ARGS)/tests/fuzz/fuzz_$*.o \
		$(FUZZ_OBJS:%=$(FUZZ_ARGS)/%) $(FUZZ_ARGS)/libsnpsafe.a $(LDLIBS)
	$(Q)mkdir -p $(FUZZ_ARGS)/corpus-$*
	$(Q)./$(FUZZ_ARGS)/fuzz_$* -max_total_time=$(FUZZ_TIME) -close_fd_mask=3 \
		-dict=tests/fuzz/$*.dict $(FUZZ_ARGS)/corpus-$* tests/fuzz/$*-seeds

clean:
	rm -rf $(BUILD) $(BUILD)-san $(BUILD)-gcc $(BUILD)-clang $(BUILD)-fuzz $(BUILD)-fuzz-args

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
