# pm: see README. configure writes config.mk; a missing Debian package is
# installed by share/pm/deps.sh when make runs as root.

-include config.mk

PREFIX ?= /usr/local
BINDIR = $(PREFIX)/bin
MANDIR = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/pm

WARN = -Wall -Wextra -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
WERROR = -Werror
SANITIZE =
SANFLAGS = $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)

ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread \
	$(WARN) $(WERROR) $(SANFLAGS) -Isrc/lib -Isrc/cv $(DEP_CFLAGS) $(CFLAGS)
ALL_CXXFLAGS = -std=c++17 -pthread $(WARN) $(WERROR) $(SANFLAGS) \
	-Isrc/lib -Isrc/cv $(DEP_CFLAGS) $(CXXFLAGS)
ALL_LDFLAGS = -pthread $(SANFLAGS) $(LDFLAGS)
LIBS = src/libpm.a $(DEP_LIBS) -lm

PROGS = $(patsubst src/%.c,bin/%,$(wildcard src/pm-*.c))
LIBOBJ = $(patsubst %.c,%.o,$(wildcard src/lib/*.c)) \
	$(patsubst %.cc,%.o,$(wildcard src/cv/*.cc))
UNIT = $(patsubst %.c,%,$(wildcard t/unit/*.c))
HELPERS = $(patsubst %.c,%,$(wildcard t/helper/*.c))
# fuzz/NAME.c, and its corpus replayed by make check (see Fuzzing below)
FUZZNAMES = $(filter-out replay,$(patsubst fuzz/%.c,%,$(wildcard fuzz/*.c)))
FUZZREPLAY = $(patsubst %,fuzz/out/replay-%,$(FUZZNAMES))
HDRS = $(wildcard src/lib/*.h src/cv/*.h)
MAN = $(wildcard man/man1/*.1 man/man5/*.5 man/man7/*.7)

all: $(PROGS)

config.mk: configure
	@./configure $(CONFIGURE_ARGS) || { \
	    [ "$$(id -u)" = 0 ] && sh share/pm/deps.sh build && \
	    ./configure $(CONFIGURE_ARGS); }

# The objects depend on the sanitizer choice, so a change of SANITIZE
# rebuilds everything.
.build-flags: FORCE
	@echo '$(SANITIZE) $(CFLAGS) $(CXXFLAGS)' | cmp -s - $@ || \
	    echo '$(SANITIZE) $(CFLAGS) $(CXXFLAGS)' > $@

src/lib/%.o: src/lib/%.c $(HDRS) config.mk .build-flags
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

src/cv/%.o: src/cv/%.cc $(HDRS) config.mk .build-flags
	$(CXX) $(ALL_CXXFLAGS) -c -o $@ $<

src/libpm.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

# C++ links the programs because the OpenCV shim in libpm.a is C++.
bin/%: src/%.c src/libpm.a $(HDRS) .build-flags
	@mkdir -p bin
	$(CC) $(ALL_CFLAGS) -c -o src/$*.o $<
	$(CXX) $(ALL_LDFLAGS) -o $@ src/$*.o $(LIBS)

t/unit/%: t/unit/%.c t/unit/tap.h src/libpm.a $(HDRS) .build-flags
	$(CC) $(ALL_CFLAGS) -It/unit -c -o $@.o $<
	$(CXX) $(ALL_LDFLAGS) -o $@ $@.o $(LIBS)

t/helper/%: t/helper/%.c src/libpm.a $(HDRS) .build-flags
	$(CC) $(ALL_CFLAGS) -c -o $@.o $<
	$(CXX) $(ALL_LDFLAGS) -o $@ $@.o $(LIBS)

check: all $(UNIT) $(HELPERS) $(FUZZREPLAY)
	@sh share/pm/deps.sh test || { \
	    echo 'make check: tests that need those tools will skip' >&2; }
	prove -j2 $(PROVE_FLAGS) $(UNIT) t/t[0-9]*.sh

# The README's first command: install what the demo runs, build, run it.
demo: all
	@if [ "$$(id -u)" = 0 ]; then sh share/pm/deps.sh demo; fi
	sh share/pm/demo.sh

lint:
	mandoc -Tlint -Wwarning $(MAN)

# The demo's pipeline under valgrind, stage by stage (bench/valgrind.sh;
# slow, so not part of check).
valgrind: all
	@if [ "$$(id -u)" = 0 ]; then sh share/pm/deps.sh valgrind; fi
	sh bench/valgrind.sh

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(SHAREDIR)
	cp $(PROGS) $(DESTDIR)$(BINDIR)/
	for m in $(MAN); do \
	    s=$${m##*.}; cp $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	cp share/pm/* $(DESTDIR)$(SHAREDIR)/

uninstall:
	for p in $(PROGS); do rm -f $(DESTDIR)$(BINDIR)/$${p#bin/}; done
	for m in $(MAN); do \
	    s=$${m##*.}; rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -rf $(DESTDIR)$(SHAREDIR)

clean:
	rm -f bin/pm-* src/*.o src/lib/*.o src/cv/*.o src/libpm.a \
	    $(UNIT) $(HELPERS) t/unit/*.o t/helper/*.o .build-flags
	rm -rf t/trash.* fuzz/out/lib
	rm -f fuzz/out/*.o fuzz/out/libpm.a $(FUZZBIN) $(FUZZREPLAY)

# The fuzzers' working corpora and crashes (fuzz/out) outlive clean.
distclean: clean
	rm -f config.mk config.log
	rm -rf fuzz/out

.PHONY: all check demo lint valgrind install uninstall clean distclean FORCE

# Fuzzing (fuzz/README).  Each target fuzz/NAME.c is built twice: with
# clang's libFuzzer, ASan and UBSan into fuzz/out/NAME (make fuzz, which
# builds its own copy of the library with clang), and with the normal
# compiler and flags, sanitizers included, against src/libpm.a into
# fuzz/out/replay-NAME, which runs the committed corpus fuzz/corpus/NAME
# in make check (t/t0900-fuzz-corpus.sh).
FUZZCC = clang-14
FUZZCXX = clang++-14
FUZZSAN = -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZFLAGS = -g -O1 -fno-omit-frame-pointer $(FUZZSAN) -fsanitize=fuzzer-no-link
FUZZ_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -pthread \
	$(WARN) $(WERROR) $(FUZZFLAGS) -Isrc/lib -Isrc/cv $(DEP_CFLAGS)
FUZZ_LIBS = $(DEP_LIBS) -lm
FUZZBIN = $(patsubst %,fuzz/out/%,$(FUZZNAMES))
FUZZLIBOBJ = $(patsubst src/lib/%.c,fuzz/out/lib/%.o,$(wildcard src/lib/*.c)) \
	$(patsubst src/cv/%.cc,fuzz/out/lib/%.o,$(wildcard src/cv/*.cc))

fuzz: $(FUZZBIN)

fuzz-deps:
	@command -v $(FUZZCC) >/dev/null || { [ "$$(id -u)" = 0 ] && \
	    sh share/pm/deps.sh fuzz; } || { \
	    echo "make fuzz: needs $(FUZZCC): sh share/pm/deps.sh fuzz" >&2; \
	    exit 1; }

fuzz/out/lib/%.o: src/lib/%.c $(HDRS) config.mk | fuzz-deps
	@mkdir -p fuzz/out/lib
	$(FUZZCC) $(FUZZ_CFLAGS) -c -o $@ $<

fuzz/out/lib/%.o: src/cv/%.cc $(HDRS) config.mk | fuzz-deps
	@mkdir -p fuzz/out/lib
	$(FUZZCXX) -std=c++17 -pthread $(WARN) $(WERROR) $(FUZZFLAGS) \
	    -Isrc/lib -Isrc/cv $(DEP_CFLAGS) -c -o $@ $<

fuzz/out/libpm.a: $(FUZZLIBOBJ)
	rm -f $@
	ar rcs $@ $(FUZZLIBOBJ)

fuzz/out/%: fuzz/%.c fuzz/fuzz.h fuzz/out/libpm.a $(HDRS)
	$(FUZZCC) $(FUZZ_CFLAGS) -c -o $@.o $<
	$(FUZZCXX) $(FUZZFLAGS) -fsanitize=fuzzer -pthread -o $@ $@.o \
	    fuzz/out/libpm.a $(FUZZ_LIBS)

fuzz/out/replay-%: fuzz/%.c fuzz/replay.c fuzz/fuzz.h src/libpm.a $(HDRS) .build-flags
	@mkdir -p fuzz/out
	$(CC) $(ALL_CFLAGS) -c -o $@.o $<
	$(CC) $(ALL_CFLAGS) -c -o $@-main.o fuzz/replay.c
	$(CXX) $(ALL_LDFLAGS) -o $@ $@.o $@-main.o $(LIBS)

.PHONY: fuzz fuzz-deps
.SECONDARY:

# The accuracy benchmark's generator, checker, scorer and baselines
# (bench/accuracy.sh); check builds them for t/t4900-accgen.sh.
BENCHPROGS = $(patsubst bench/gen/%.cc,bench/out/%,$(wildcard bench/gen/*.cc)) \
	$(patsubst bench/gen/%.c,bench/out/%,$(wildcard bench/gen/*.c))

bench: $(BENCHPROGS)

bench/out/%: bench/gen/%.cc config.mk .build-flags
	@mkdir -p bench/out
	$(CXX) $(ALL_CXXFLAGS) -o $@ $< $(ALL_LDFLAGS) $(DEP_LIBS)

bench/out/%: bench/gen/%.c src/libpm.a $(HDRS) .build-flags
	@mkdir -p bench/out
	$(CC) $(ALL_CFLAGS) -c -o $@.o $<
	$(CXX) $(ALL_LDFLAGS) -o $@ $@.o $(LIBS)

check: $(BENCHPROGS)
.PHONY: bench
