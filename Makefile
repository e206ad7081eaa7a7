# pg_mlops — PGXS build.
#
#   make / make install     build and install the extension (PGXS)
#   make demo               install what is missing, build, start a throwaway cluster, show a tour
#   make test               install what is missing, build with -Werror, run every test suite
#   make dist               dist/pg_mlops-VERSION.zip of HEAD, for PGXN (META.json)
#   make bench              benchmarks under test/bench/ (ratios against the tools users use)
#   make installcheck       the stock PGXS targets, each on a throwaway server of its own:
#                           pg_regress (REGRESS), pg_isolation_regress (ISOLATION) and the TAP
#                           tests (prove_installcheck, PROVE_TESTS; `make prove_installcheck` runs
#                           them alone); not as root (initdb refuses)

EXTENSION  = pg_mlops
# The one version source: default_version in the control file.
EXTVERSION = $(shell sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" $(EXTENSION).control)

MODULE_big = pg_mlops
SRCS = $(sort $(shell find src -name '*.c'))
OBJS = $(SRCS:.c=.o)

# Kernels are the sources that do not include postgres.h; they are linked into
# the unit tests on their own, without the server.
KERNEL_SRCS = $(sort $(shell grep -L '^[#]include "postgres.h"' $(SRCS)))

# The current version's install script is generated from sql/pg_mlops.sql; released versions'
# scripts are kept in the tree as they were released (never regenerated), with an upgrade
# script from each to the next.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(sort $(filter-out $(DATA_built),$(wildcard sql/$(EXTENSION)--*.sql)))

# pg_regress tests: sql/NN_topic.sql against expected/NN_topic.out.  `make installcheck` runs
# them on a temporary server of their own started with test/pgxs/regress.conf (as pg_cron does),
# then the isolation specs on another (test/pgxs/isolation.conf), then the TAP tests, which make
# their own clusters.  `make test` (test/run.sh) runs the same suites and more.
REGRESS = $(sort $(basename $(notdir $(wildcard sql/[0-9][0-9]_*.sql))))
REGRESS_OPTS = --temp-instance=./tmp_check --temp-config=$(CURDIR)/test/pgxs/regress.conf
ISOLATION = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation --temp-instance=./tmp_check_iso \
	--temp-config=$(CURDIR)/test/pgxs/isolation.conf
TAP_TESTS = 1
PROVE_TESTS = $(sort $(wildcard test/t/*.pl))

PKG_LIBS = libcurl json-c libarchive libzip zlib
PG_CPPFLAGS = -I$(CURDIR)/src -DEXTVERSION=\"$(EXTVERSION)\" $(shell pkg-config --cflags $(PKG_LIBS) 2>/dev/null)
SHLIB_LINK = $(shell pkg-config --libs $(PKG_LIBS) 2>/dev/null) -lm -Wl,--version-script=$(CURDIR)/src/exports.map

EXTRA_CLEAN = test/unit/bin test/unit/obj test/fuzz/bin test/fuzz/obj $(OBJS:.o=.d)

# PostgreSQL 15 is the target; another pg_config can be given on the command line.
PG_CONFIG ?= $(firstword $(wildcard /usr/lib/postgresql/15/bin/pg_config) pg_config)
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)
ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
# Without the server's development files only the targets that install them work.
all install installcheck:
	@echo "PostgreSQL 15 development files are missing: run 'make test' or 'make demo' (they install them), or test/install-deps.sh" >&2; exit 1
endif

# Each object gets a .d file of the headers it read, so a changed header rebuilds it
# (gcc only: the LLVM bitcode rule does not use CFLAGS).
override CFLAGS += -MMD -MP
-include $(OBJS:.o=.d)

$(DATA_built): sql/$(EXTENSION).sql $(EXTENSION).control
	sed 's/@EXTVERSION@/$(EXTVERSION)/g' $< > $@

# Kernels may use libcurl, json-c, libarchive, libzip and zlib; the unit tests and fuzzers link them too.
KERNEL_LIBS = $(shell pkg-config --libs libcurl json-c libarchive libzip zlib 2>/dev/null) -lm

# Kernel unit tests: each test/unit/test_*.c is a program printing TAP, built
# with the kernels, AddressSanitizer and UndefinedBehaviorSanitizer.
UNIT_CC ?= cc
UNIT_CFLAGS ?= -std=c11 -O1 -g -Wall -Wextra -Werror -fsanitize=address,undefined -fno-omit-frame-pointer
UNIT_TESTS = $(patsubst test/unit/%.c,test/unit/bin/%,$(sort $(wildcard test/unit/test_*.c)))

# The kernels are compiled once (with the unit tests' flags) and linked into every test.
UNIT_OBJS = $(patsubst src/%.c,test/unit/obj/%.o,$(KERNEL_SRCS))
-include $(UNIT_OBJS:.o=.d)

test/unit/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(UNIT_CC) $(UNIT_CFLAGS) -MMD -MP -Isrc -c -o $@ $<

test/unit/bin/%: test/unit/%.c test/unit/unit.h test/unit/png_read.h $(UNIT_OBJS)
	@mkdir -p test/unit/bin
	$(UNIT_CC) $(UNIT_CFLAGS) -Isrc -Itest/unit -o $@ $< $(UNIT_OBJS) $(KERNEL_LIBS)

# Fuzz targets: each test/fuzz/fuzz_*.c is a libFuzzer target built with the kernels under
# ASan/UBSan; `make fuzz` runs each for FUZZ_SECONDS from its seed corpus test/fuzz/corpus/NAME.
FUZZ_CC ?= clang-14
FUZZ_CFLAGS ?= -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 10
FUZZ_TARGETS = $(patsubst test/fuzz/%.c,test/fuzz/bin/%,$(sort $(wildcard test/fuzz/fuzz_*.c)))

# A target that runs glue (FUZZ_GLUE_<name>: glue files, compiled with the server's headers)
# links test/fuzz/pgstub.c in place of the server: palloc on malloc, ereport(ERROR) as a longjmp.
FUZZ_SERVER_CFLAGS = -I$(shell $(PG_CONFIG) --includedir-server) -DEXTVERSION=\"$(EXTVERSION)\" \
	-Wno-ignored-attributes
FUZZ_GLUE_fuzz_decode = src/metrics/decode.c src/util/palloc_alloc.c test/fuzz/pgstub.c

test/fuzz/bin/fuzz_decode: $(FUZZ_GLUE_fuzz_decode) test/fuzz/pgstub.h src/metrics/metrics_glue.h

# The kernels are compiled once for all targets (instrumented, without libFuzzer's main).
FUZZ_OBJ_CFLAGS = $(subst -fsanitize=fuzzer,-fsanitize=fuzzer-no-link,$(FUZZ_CFLAGS))
FUZZ_OBJS = $(patsubst src/%.c,test/fuzz/obj/%.o,$(KERNEL_SRCS))
-include $(FUZZ_OBJS:.o=.d)

test/fuzz/obj/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_OBJ_CFLAGS) -MMD -MP -Isrc -c -o $@ $<

test/fuzz/bin/%: test/fuzz/%.c $(FUZZ_OBJS)
	@mkdir -p test/fuzz/bin
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc $(if $(FUZZ_GLUE_$*),$(FUZZ_SERVER_CFLAGS)) -o $@ $< \
	  $(FUZZ_GLUE_$*) $(FUZZ_OBJS) $(KERNEL_LIBS)

fuzz-build: $(FUZZ_TARGETS)

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  name=$$(basename $$t); work=$$(mktemp -d); \
	  mkdir -p test/fuzz/corpus/$$name; \
	  echo "fuzzing $$name for $(FUZZ_SECONDS) s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=10 -print_final_stats=1 $$work test/fuzz/corpus/$$name \
	    >$$work.log 2>&1 || { tail -n 60 $$work.log; rm -rf $$work $$work.log; exit 1; }; \
	  grep -E 'stat::number_of_executed_units|Done [0-9]+ runs' $$work.log | tail -n 1; \
	  rm -rf $$work $$work.log; \
	done

.PHONY: unit fuzz fuzz-build demo test bench dist
unit: $(UNIT_TESTS)

demo:
	@bash test/demo.sh

test:
	@bash test/run.sh

bench:
	@bash test/bench/run.sh

# `make prove_installcheck` runs the TAP tests alone (pgvector's target), e.g.
# `make prove_installcheck PROVE_TESTS=test/t/001_worker.pl`; PGXS defines the recipe.
.PHONY: prove_installcheck
prove_installcheck:
	$(prove_installcheck)

# A PGXN release: the committed tree of HEAD (META.json at its top), as pgvector's `make dist`.
dist:
	@mkdir -p dist
	git archive --format zip --prefix=$(EXTENSION)-$(EXTVERSION)/ --output dist/$(EXTENSION)-$(EXTVERSION).zip HEAD
	@echo "dist/$(EXTENSION)-$(EXTVERSION).zip"
