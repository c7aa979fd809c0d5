# flowlogd build. `make` builds build/flowlogd; `make SAN=1` builds an
# AddressSanitizer + UndefinedBehaviorSanitizer build in build-san/.
# `make test` runs the unit tests (cmocka) and the integration tests (the
# real binary driven by the official Node SDK).

CC      ?= gcc
PKGS    := libmicrohttpd jansson libcrypto sqlite3 libcurl
SAN     ?=
B       := build$(if $(SAN),$(if $(filter thread,$(SAN)),-tsan,-san))

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -fno-strict-aliasing -Isrc -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
ifeq ($(SAN),thread)
# -Wno-tsan: TSan does not model the one standalone fence (sq_vfs_wal_stamp,
# ordering reads of the wal-index that uninstrumented libsqlite3 writes)
CFLAGS  += -fsanitize=thread -fno-omit-frame-pointer -Wno-tsan
LDFLAGS += -fsanitize=thread
else ifdef SAN
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
# the store's unit tests (scripts/test.sh runs them on each engine) and the
# ones ThreadSanitizer runs: the layers with threads of their own
STORE_UNIT := $(B)/tests/test_store $(B)/tests/test_store_resource
TSAN_UNIT  := $(STORE_UNIT) $(B)/tests/test_http

FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BIN := $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)
FUZZ_SECONDS ?= 60
BENCH_SRC := $(sort $(wildcard bench/*.c))

.PHONY: all unit unit-store tsan integration reliability test clean check-schema fuzz fuzz-build bench
all: $(B)/flowlogd

$(B)/libflowlogd.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/flowlogd: $(B)/src/main.o $(B)/libflowlogd.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/tests/%: tests/unit/%.c $(B)/libflowlogd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(B)/libflowlogd.a -lcmocka $(LDLIBS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

unit: $(UNIT_BIN)
	@fail=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

unit-store: $(STORE_UNIT)
	@fail=0; for t in $(STORE_UNIT); do echo "== $$t ($${FLOWLOGD_SQLITE_ENGINE:-tuned} engine)"; \
	  $$t || fail=1; done; exit $$fail

# ThreadSanitizer: the store and http unit tests, on both SQLite engines;
# tests/tsan.supp lists the (documented) third-party reports it ignores
TSAN_ENV := TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(abspath tests/tsan.supp)"
tsan:
	@$(MAKE) -s SAN=thread $(TSAN_UNIT:build/%=build-tsan/%)
	@fail=0; for t in $(TSAN_UNIT:build/%=build-tsan/%); do for e in tuned plain; do \
	  case $$t in *test_http) [ $$e = tuned ] || continue;; esac; \
	  echo "== $$t (ThreadSanitizer, $$e engine)"; \
	  FLOWLOGD_SQLITE_ENGINE=$$e $(TSAN_ENV) $$t || fail=1; done; done; exit $$fail

integration: $(B)/flowlogd
	FLOWLOGD_BIN=$(abspath $(B)/flowlogd) node --test --test-concurrency=1 tests/integration/

reliability: $(B)/flowlogd
	FLOWLOGD_BIN=$(abspath $(B)/flowlogd) node --test --test-concurrency=1 tests/reliability/

test: unit integration reliability

# libFuzzer targets: clang, the library rebuilt with coverage + ASan + UBSan.
# Each target runs FUZZ_SECONDS on its seed corpus (tests/fuzz/corpus/<name>)
# with the API dictionary; a crash file found once becomes a regression seed.
build-fuzz/lib/%.o: %.c
	@mkdir -p $(dir $@)
	clang -std=gnu11 -g -O1 -Isrc -MMD -MP -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
	  $(shell pkg-config --cflags $(PKGS)) -c -o $@ $<

build-fuzz/%: tests/fuzz/%.c $(LIB_SRC:%.c=build-fuzz/lib/%.o)
	clang -std=gnu11 -g -O1 -Isrc -MMD -MP -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -o $@ $(filter %.c %.o,$^) $(LDLIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: fuzz-build
	@fail=0; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p build-fuzz/corpus/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS) s)"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -dict=tests/fuzz/api.dict -print_final_stats=0 \
	    -artifact_prefix=build-fuzz/ build-fuzz/corpus/$$n tests/fuzz/corpus/$$n >build-fuzz/$$n.log 2>&1 \
	    || { fail=1; tail -40 build-fuzz/$$n.log; }; \
	  grep -E "^#[0-9]+.*DONE|Done [0-9]+ runs" build-fuzz/$$n.log | tail -1; done; exit $$fail

build/bench/flowlogd-bench: $(BENCH_SRC) build/libflowlogd.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -O2 -o $@ $(BENCH_SRC) build/libflowlogd.a $(LDLIBS)

bench: build/flowlogd build/bench/flowlogd-bench
	bench/run.sh

# the spec files: ../shared/spec, or SPEC_DIR=... (scripts/test.sh passes $$FLOWLOGD_SHARED/spec)
SPEC_DIR ?= $(abspath ../shared/spec)

check-schema:
	@test -f "$(SPEC_DIR)/vpc-flowlog-api.json" || \
	  { echo "check-schema: no spec files in $(SPEC_DIR) (give SPEC_DIR=...)" >&2; exit 2; }
	@tmp=$$(mktemp -d) && python3 tools/gen-schema.py "$(SPEC_DIR)" $$tmp && \
	  diff -u src/api/schema_gen.c $$tmp/schema_gen.c && diff -u src/api/schema_gen.h $$tmp/schema_gen.h && \
	  echo "schema tables are current"; rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(B)/src/main.d $(wildcard build-fuzz/lib/src/*/*.d build-fuzz/lib/src/*/*/*.d build-fuzz/*.d)
