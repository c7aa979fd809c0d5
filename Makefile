# flowlogd build. `make` builds build/flowlogd; `make SAN=1` builds an
# AddressSanitizer + UndefinedBehaviorSanitizer build in build-san/.
# `make test` runs the unit tests (cmocka) and the integration tests (the
# real binary driven by the official Node SDK).

CC      ?= gcc
PKGS    := libmicrohttpd jansson libcrypto sqlite3 libcurl
SAN     ?=
B       := build$(if $(SAN),-san)

CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wformat=2 \
           -Wno-format-nonliteral -fno-strict-aliasing -Isrc -MMD -MP \
           $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lpthread -lm
ifdef SAN
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRC  := $(sort $(wildcard src/*/*.c src/*/*/*.c))
LIB_OBJ  := $(LIB_SRC:%.c=$(B)/%.o)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)

.PHONY: all unit integration test test-san clean check-schema
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

integration: $(B)/flowlogd
	FLOWLOGD_BIN=$(abspath $(B)/flowlogd) node --test --test-concurrency=1 tests/integration/

test: unit integration

check-schema:
	@tmp=$$(mktemp -d) && python3 tools/gen-schema.py $(SPEC_DIR) $$tmp && \
	  diff -u src/api/schema_gen.c $$tmp/schema_gen.c && diff -u src/api/schema_gen.h $$tmp/schema_gen.h && \
	  echo "schema tables are current"; rc=$$?; rm -rf $$tmp; exit $$rc

clean:
	rm -rf build build-san

-include $(LIB_OBJ:.o=.d) $(B)/src/main.d
