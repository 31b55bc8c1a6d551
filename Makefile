# Makefile — build, run, test and benchmark Kexin. `make run` and `make test` are the two commands.
.PHONY: all build run start stop test unit fuzz dbtests bench clean deps help fmt

PKGS      := glib-2.0 gio-2.0 ctpl libsodium libpq fcgi xlsxwriter zlib libzip libxml-2.0
CC        ?= gcc
WARN      := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral -Wno-missing-field-initializers
CFLAGS_BASE = -std=c17 -D_GNU_SOURCE $(WARN) -g $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS    = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lfcgi -lcsv
CFLAGS   ?= -O2
ASAN      := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

LIB_SRC   := $(wildcard cgi/core/*.c) $(wildcard cgi/modules/*.c) $(wildcard cgi/docs/*.c)
TEST_SRC  := $(wildcard tests/unit/test_*.c)
B         := build

LIB_OBJ      := $(LIB_SRC:%.c=$(B)/rel/%.o)
LIB_OBJ_ASAN := $(LIB_SRC:%.c=$(B)/asan/%.o)
TESTS        := $(TEST_SRC:tests/unit/%.c=$(B)/rel/tests/%)
TESTS_ASAN   := $(TEST_SRC:tests/unit/%.c=$(B)/asan/tests/%)

all: build

help:
	@echo "make run     start the whole stack in the foreground (Ctrl-C stops it)"
	@echo "make start   the same in the background; make stop stops it"
	@echo "make test    every test on a throw-away stack"
	@echo "make bench   load benchmarks (prints figures, never fails on timings)"

deps:
	@scripts/deps.sh run

build: $(B)/kexin

$(B)/kexin: $(B)/rel/cgi/main.o $(B)/rel/libkexin.a
	$(CC) $(CFLAGS) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS)

$(B)/rel/libkexin.a: $(LIB_OBJ)
	ar rcs $@ $^

$(B)/asan/libkexin.a: $(LIB_OBJ_ASAN)
	ar rcs $@ $^

$(B)/rel/%.o: %.c $(wildcard cgi/core/*.h) $(wildcard cgi/modules/*.h) $(wildcard cgi/docs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_BASE) -c -o $@ $<

$(B)/asan/%.o: %.c $(wildcard cgi/core/*.h) $(wildcard cgi/modules/*.h) $(wildcard cgi/docs/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ASAN) $(CFLAGS_BASE) -c -o $@ $<

$(B)/rel/tests/%: tests/unit/%.c $(B)/rel/libkexin.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_BASE) -Icgi/core -o $@ $^ $(LDLIBS) -lcmocka

$(B)/asan/tests/%: tests/unit/%.c $(B)/asan/libkexin.a
	@mkdir -p $(dir $@)
	$(CC) $(ASAN) $(CFLAGS_BASE) -Icgi/core -o $@ $^ $(LDLIBS) -lcmocka

# Programs the HTTP tests drive against the running test stack (tests/db/).
DBTEST_SRC := $(wildcard tests/db/*.c)
DBTESTS    := $(DBTEST_SRC:tests/db/%.c=$(B)/rel/tests/db/%)
dbtests: $(DBTESTS)
$(B)/rel/tests/db/%: tests/db/%.c $(B)/rel/libkexin.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_BASE) -o $@ $^ $(LDLIBS)

# C unit tests, plain and under AddressSanitizer + UBSan, then a short fuzzing round.
unit: $(TESTS) $(TESTS_ASAN)
	@set -e; for t in $(TESTS) $(TESTS_ASAN); do echo "== $$t"; KEXIN_ROOT=$(CURDIR) $$t; done
	@$(MAKE) -s fuzz

# Fuzzing (libFuzzer + ASan/UBSan, clang) of the parsers that read uploads: each target in
# tests/fuzz/fuzz_*.c runs for FUZZ_RUNS inputs or FUZZ_TIME seconds, whichever comes first,
# from the seeds gen_corpus writes; new inputs collect in build/fuzz/found/, crashes are
# kept as build/fuzz/crash-*. The core sources are compiled with clang here, not taken from
# the gcc-built archive. `make fuzz FUZZ_TIME=600 FUZZ_RUNS=-1` for a long run.
FUZZ_CC    := clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CORE  := arena config log i18n upload tabular
FUZZ_OBJ   := $(FUZZ_CORE:%=$(B)/fuzz/obj/%.o)
FUZZERS    := $(patsubst tests/fuzz/%.c,$(B)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_RUNS  ?= 100000
FUZZ_TIME  ?= 10

$(B)/fuzz/obj/%.o: cgi/core/%.c $(wildcard cgi/core/*.h)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link $(CFLAGS_BASE) -c -o $@ $<

$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer $(CFLAGS_BASE) -Icgi/core -o $@ $^ $(LDLIBS)

$(B)/fuzz/gen_corpus: tests/fuzz/gen_corpus.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CFLAGS_BASE) -o $@ $< $(LDLIBS)

$(B)/fuzz/corpus/.stamp: $(B)/fuzz/gen_corpus
	rm -rf $(B)/fuzz/corpus
	$< $(B)/fuzz/corpus
	@touch $@

fuzz: $(FUZZERS) $(B)/fuzz/corpus/.stamp
	@set -e; for f in $(FUZZERS); do n=$${f##*/fuzz_}; log=$(B)/fuzz/$$n.log; \
	  mkdir -p $(B)/fuzz/found/$$n; echo "== fuzz $$n"; \
	  if ! $$f -runs=$(FUZZ_RUNS) -max_total_time=$(FUZZ_TIME) -timeout=10 -print_final_stats=1 \
	      -artifact_prefix=$(B)/fuzz/crash-$$n- $(B)/fuzz/found/$$n $(B)/fuzz/corpus/$$n >$$log 2>&1; \
	  then tail -n 60 $$log; echo "fuzz $$n failed (log: $$log)"; exit 1; fi; \
	  grep -E '^(Done|stat::(average_exec_per_sec|new_units_added|peak_rss_mb))' $$log; \
	done

run: deps build
	@scripts/stack.sh run

start: deps build
	@scripts/stack.sh start

stop:
	@scripts/stack.sh stop

test:
	@scripts/test.sh

bench: deps build
	@scripts/bench.sh

fmt:
	clang-format -i cgi/*.c cgi/core/*.[ch] cgi/modules/*.c tests/unit/*.c

clean:
	rm -rf $(B)
