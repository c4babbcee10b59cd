# oauthtop - one Makefile, pkg-config for every library.
#   make            build ./oauthtop (and the test token server)
#   make check      deps + unit and end-to-end tests, then again under ASan+UBSan
#   make install    PREFIX=/usr/local DESTDIR=
#   make demo       the console on the bundled local token server
VERSION   := 0.1.0
PREFIX    ?= /usr/local
DESTDIR   ?=
BUILD     ?= build
CC        ?= cc
PKG_CONFIG ?= pkg-config

CORE_PKGS := libcurl libcjson sqlite3 libcrypto
TUI_PKGS  := ncursesw
CLI_PKGS  := libqrencode
TEST_PKGS := cmocka
IDP_PKGS  := libmicrohttpd libcjson libcrypto

WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Werror
CSTD    := -std=c11 -D_GNU_SOURCE
OPT     ?= -O2 -g
SANFLAGS :=
ifeq ($(SAN),1)
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT := -O1 -g
endif
CFLAGS_ALL = $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Iinclude -Isrc -DOT_VERSION=\"$(VERSION)\" \
             -DOT_DATADIR=\"$(PREFIX)/share/oauthtop\" \
             -DOT_LIBEXECDIR=\"$(PREFIX)/libexec/oauthtop\" $(CFLAGS)
pc_cflags = $(shell $(PKG_CONFIG) --cflags $(1) 2>/dev/null)
pc_libs   = $(shell $(PKG_CONFIG) --libs $(1) 2>/dev/null)

CORE_SRC := $(sort $(wildcard src/core/*.c))
CLI_SRC  := $(filter-out src/cli/lean.c,$(sort $(wildcard src/cli/*.c)))
# The lean `oauthtop`: no libcurl, no curses (fast to start, for `token` in scripts); it runs
# oauthtop-full for the commands that need them. See src/cli/lean.c.
LEAN_SRC := src/cli/cli.c src/cli/cmd_status.c src/cli/report.c src/cli/report_formats.c \
            src/cli/cmd_import.c src/cli/cmd_history.c src/cli/cmd_check.c src/cli/lean.c
LEAN_PKGS := libcjson sqlite3 libcrypto
TUI_SRC  := $(sort $(wildcard src/tui/*.c))
IDP_SRC  := $(sort $(wildcard tests/idp/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
BENCH_SRC := $(sort $(wildcard bench/*.c))

CORE_OBJ := $(CORE_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
LEAN_OBJ := $(LEAN_SRC:%.c=$(BUILD)/%.o) $(BUILD)/src/cli/main_lean.o
TUI_OBJ  := $(TUI_SRC:%.c=$(BUILD)/%.o)
IDP_OBJ  := $(IDP_SRC:%.c=$(BUILD)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
LIB      := $(BUILD)/liboauthtop.a
BIN      := $(if $(filter build,$(BUILD)),oauthtop,$(BUILD)/oauthtop)
FULL_BIN := $(BIN)-full
IDP_BIN  := $(BUILD)/oauthtop-idp

# Keep intermediate objects (no "rm ..." lines after the test summary), and quiet make.
.SECONDARY:
MAKEFLAGS += --no-print-directory

.PHONY: all check check-run unit e2e interop fuzz reliability deps install uninstall clean format format-check demo \
        bench test-bins
all: $(BIN) $(FULL_BIN) $(IDP_BIN)

$(BUILD)/src/core/%.o: src/core/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(CORE_PKGS)) -MMD -MP -c $< -o $@
$(BUILD)/src/cli/%.o: src/cli/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(CORE_PKGS) $(CLI_PKGS)) -MMD -MP -c $< -o $@
$(BUILD)/src/cli/main_lean.o: src/cli/main.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -DOT_LEAN -MMD -MP -c $< -o $@
$(BUILD)/src/tui/%.o: src/tui/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(TUI_PKGS)) -MMD -MP -c $< -o $@
$(BUILD)/tests/idp/%.o: tests/idp/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(IDP_PKGS)) -MMD -MP -c $< -o $@
$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(CORE_PKGS) $(TEST_PKGS)) -MMD -MP -c $< -o $@

$(LIB): $(CORE_OBJ)
	@mkdir -p $(@D)
	rm -f $@ && ar rcs $@ $^

$(FULL_BIN): $(CLI_OBJ) $(TUI_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $(CLI_OBJ) $(TUI_OBJ) $(LIB) \
	    $(call pc_libs,$(CORE_PKGS) $(TUI_PKGS) $(CLI_PKGS)) -lm

$(BIN): $(LEAN_OBJ) $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $(LEAN_OBJ) $(LIB) $(call pc_libs,$(LEAN_PKGS)) -lm

$(IDP_BIN): $(IDP_OBJ)
	$(CC) $(CFLAGS_ALL) -o $@ $(IDP_OBJ) $(call pc_libs,$(IDP_PKGS)) -lpthread -lm

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(LIB) $(call pc_libs,$(CORE_PKGS) $(TEST_PKGS)) -lm

# Benchmarks: bench/NAME.c -> build/bench/NAME, linked with the library and every package.
BENCH_DEPS := $(TUI_OBJ) $(BUILD)/src/cli/cli.o $(BUILD)/src/cli/qr.o
$(BUILD)/bench/%: bench/%.c $(LIB) $(BENCH_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(call pc_cflags,$(CORE_PKGS) $(TUI_PKGS)) -o $@ $< $(BENCH_DEPS) $(LIB) \
	    $(call pc_libs,$(CORE_PKGS) $(TUI_PKGS) $(CLI_PKGS)) -lm

test-bins: $(UNIT_BIN) $(BIN) $(FULL_BIN) $(IDP_BIN)

bench: $(BIN) $(FULL_BIN) $(IDP_BIN) $(BENCH_BIN)
	@sh bench/run.sh

# Installs the Debian -dev packages only when pkg-config cannot find them.
deps:
	@sh tests/deps.sh

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

e2e: $(BIN) $(FULL_BIN) $(IDP_BIN) $(BENCH_BIN)
	@OAUTHTOP=$(abspath $(BIN)) OT_IDP=$(abspath $(IDP_BIN)) sh tests/e2e/run.sh

check-run: $(BENCH_BIN) unit e2e

# libFuzzer harnesses (clang) for the token parser, the configuration and the theme loader.
FUZZ_SECONDS ?= 30
fuzz:
	@sh tests/fuzz/run.sh -t $(FUZZ_SECONDS)

# Reliability: crash storm, racing keepers, store faults (the full runs; CI runs bounded ones).
reliability: $(BIN) $(FULL_BIN) $(IDP_BIN)
	@OAUTHTOP=$(abspath $(BIN)) OT_IDP=$(abspath $(IDP_BIN)) sh tests/reliability/run.sh

# Interoperability with a real authorization server (oidc-provider from npm).
interop: $(BIN) $(FULL_BIN)
	@OAUTHTOP=$(abspath $(BIN)) sh tests/interop/run.sh

check: deps
	$(MAKE) check-run
	$(MAKE) BUILD=build-san SAN=1 check-run

install: $(BIN) $(FULL_BIN)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/oauthtop/themes \
	    $(DESTDIR)$(PREFIX)/libexec/oauthtop
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/oauthtop
	install -m 0755 $(FULL_BIN) $(DESTDIR)$(PREFIX)/libexec/oauthtop/oauthtop-full
	install -m 0644 themes/*.theme $(DESTDIR)$(PREFIX)/share/oauthtop/themes/ 2>/dev/null || true
	if [ -f doc/oauthtop.1 ]; then install -d $(DESTDIR)$(PREFIX)/share/man/man1 && \
	    install -m 0644 doc/oauthtop.1 $(DESTDIR)$(PREFIX)/share/man/man1/; fi
	if [ -f contrib/completion/oauthtop.bash ]; then \
	    install -d $(DESTDIR)$(PREFIX)/share/bash-completion/completions && \
	    install -m 0644 contrib/completion/oauthtop.bash \
	        $(DESTDIR)$(PREFIX)/share/bash-completion/completions/oauthtop; fi
	if [ -f contrib/completion/_oauthtop ]; then \
	    install -d $(DESTDIR)$(PREFIX)/share/zsh/site-functions && \
	    install -m 0644 contrib/completion/_oauthtop $(DESTDIR)$(PREFIX)/share/zsh/site-functions/; fi
	if ls contrib/systemd/*.service >/dev/null 2>&1; then \
	    install -d $(DESTDIR)$(PREFIX)/lib/systemd/system && \
	    for u in contrib/systemd/*.service contrib/systemd/*.timer; do \
	        sed 's|/usr/local/bin/oauthtop|$(PREFIX)/bin/oauthtop|g' $$u \
	            >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u) && \
	        chmod 0644 $(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); done; fi
	if [ -f contrib/systemd/oauthtop.sysusers ]; then \
	    install -d $(DESTDIR)$(PREFIX)/lib/sysusers.d && install -m 0644 \
	        contrib/systemd/oauthtop.sysusers $(DESTDIR)$(PREFIX)/lib/sysusers.d/oauthtop.conf; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/oauthtop $(DESTDIR)$(PREFIX)/share/man/man1/oauthtop.1 \
	    $(DESTDIR)$(PREFIX)/share/bash-completion/completions/oauthtop \
	    $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_oauthtop \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/oauthtop.service \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/oauthtop-refresh.service \
	    $(DESTDIR)$(PREFIX)/lib/systemd/system/oauthtop-refresh.timer
	rm -rf $(DESTDIR)$(PREFIX)/share/oauthtop $(DESTDIR)$(PREFIX)/libexec/oauthtop

demo: deps all
	@sh tests/demo.sh

clean:
	rm -rf build build-san oauthtop oauthtop-full

FMT_FILES = $(wildcard include/oauthtop/*.h src/*/*.c src/*/*.h tests/*/*.c tests/*/*.h bench/*.c)
format:
	clang-format -i $(FMT_FILES)
format-check:
	clang-format --dry-run --Werror $(FMT_FILES)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
