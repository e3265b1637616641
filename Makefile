# mv: one plain Makefile.  make [all|check|lint|bench|demo|install|clean]
# SANITIZE=1 builds with AddressSanitizer and UBSan into build-san/;
# DEVELOPER=1 (set by .ci/run) adds -Werror.

PREFIX ?= /usr/local
CC ?= cc
TOOLS = mv-gen mv-exec mv-nemesis mv-check mv-shrink mv-report

WARN = -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wformat=2 -Wno-format-nonliteral
CSTD = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT ?= -O2 -g

ifeq ($(SANITIZE),1)
B = build-san
OPT = -O1 -g -fno-omit-frame-pointer
SAN = -fsanitize=address,undefined -fno-sanitize-recover=all
else
B = build
SAN =
endif
ifeq ($(DEVELOPER),1)
WARN += -Werror
endif

# The servers' client libraries and the kernel's netlink, nftables and
# capture libraries (Debian's -dev packages, .ci/deps.sh); --as-needed so
# that a tool records only the ones it uses.
SYSINC = -I/usr/include/postgresql -I/usr/include/libnl3
SYSLIBS = -lhiredis -lcurl -lpq -lnftables -lpcap -lnl-route-3 -lnl-3 \
          -lnetfilter_queue -lmnl
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SAN) -Ilib $(SYSINC) $(CFLAGS)
LDFLAGS_ALL = $(SAN) $(LDFLAGS)
LDLIBS_ALL = -Wl,--as-needed $(SYSLIBS) -lpthread -lm $(LDLIBS)

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
LIB_HDR = $(wildcard lib/*.h)
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
BINS = $(TOOLS:%=$(B)/bin/%)

.SECONDARY:
.PHONY: all check unit bats lint bench demo install uninstall clean deps \
        check-sanitize

all: $(BINS) $(B)/lib/libmv.a $(B)/lib/libmvtime.so $(UNIT_BIN)

$(B)/%.o: %.c $(LIB_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# The unit tests' own headers (nstopo.h) rebuild them too.
$(UNIT_SRC:%.c=$(B)/%.o): $(wildcard tests/unit/*.h)

$(B)/lib/libmv.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $(LIB_OBJ)

# The clock-fault shim, preloaded into servers (mv-nemesis(1), CLOCK
# FAULTS): never sanitized, as the sanitizers' runtime must come first in a
# process and the server's does not have it.
$(B)/lib/libmvtime.so: lib/shim/mvtime.c lib/clock.h lib/mv.h
	@mkdir -p $(dir $@)
	$(CC) $(CSTD) $(WARN) $(OPT) -Ilib -fPIC -shared -o $@ lib/shim/mvtime.c

# One explicit link rule per tool: a pattern rule would substitute the stem
# into the patsubst pattern and link no objects at all.
define tool_rule
$(B)/bin/$(1): $(patsubst %.c,$(B)/%.o,$(wildcard cmd/$(1)/*.c)) $(B)/lib/libmv.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS_ALL) -o $$@ $$(filter %.o,$$^) $(B)/lib/libmv.a $$(LDLIBS_ALL)
endef
$(foreach t,$(TOOLS),$(eval $(call tool_rule,$(t))))

$(B)/tests/%: $(B)/tests/unit/%.o $(B)/lib/libmv.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS_ALL) -o $@ $< $(B)/lib/libmv.a $(LDLIBS_ALL)

# Installs the Debian packages the build and tests need, when run as root
# and something is missing; a no-op otherwise.
deps:
	@sh .ci/deps.sh

# The newcomer's test command (README): unit tests and bats, then the same
# again under the sanitizer build.
check: deps
	$(MAKE) all
	$(MAKE) all SANITIZE=1
	MV_BIN=$(CURDIR)/build/bin MV_TESTBIN=$(CURDIR)/build/tests \
	    sh tests/run.sh build
	MV_BIN=$(CURDIR)/build-san/bin MV_TESTBIN=$(CURDIR)/build-san/tests \
	    MV_SANITIZED=1 sh tests/run.sh build-san

# The newcomer's first job: the pipeline on the embedded SUT.
demo: deps all
	sh examples/demo.sh $(CURDIR)/build/bin

lint: deps
	clang-format --dry-run --Werror lib/*.c lib/*.h lib/shim/*.c cmd/*/*.c \
	    tests/unit/*.c
	# ctuuninitvar: cppcheck takes an out-parameter (struct mv_err *)
	# passed uninitialised for a read of it.
	cppcheck --quiet --error-exitcode=1 --std=c11 \
	    --enable=warning,performance,portability \
	    --suppress=missingIncludeSystem --suppress=ctuuninitvar \
	    -Ilib lib cmd tests/unit bench
	mandoc -T lint -W warning man/*.[0-9]
	# SC2154: bats's run sets $$output, $$stderr and $$lines.
	shellcheck -s bash -e SC2154 tests/bats/*.bats tests/bats/*.bash
	shellcheck tests/*.sh examples/*.sh .ci/run .ci/deps.sh bench/*.sh

bench: deps all
	sh bench/bench.sh $(CURDIR)/build/bin

install: all
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include/mv
	cp $(BINS) $(DESTDIR)$(PREFIX)/bin/
	cp man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	cp man/*.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	cp build/lib/libmv.a build/lib/libmvtime.so $(DESTDIR)$(PREFIX)/lib/
	cp lib/*.h $(DESTDIR)$(PREFIX)/include/mv/

uninstall:
	rm -f $(TOOLS:%=$(DESTDIR)$(PREFIX)/bin/%) \
	    $(TOOLS:%=$(DESTDIR)$(PREFIX)/share/man/man1/%.1) \
	    $(DESTDIR)$(PREFIX)/share/man/man5/mv-history.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/mv-cluster.5 \
	    $(DESTDIR)$(PREFIX)/lib/libmv.a $(DESTDIR)$(PREFIX)/lib/libmvtime.so
	rm -rf $(DESTDIR)$(PREFIX)/include/mv

clean:
	rm -rf build build-san
