# bench/local.mk: the benchmark against libopendkim (issue 9), and its
# SPF row against libspf2 when configure found it (issue 20), included by
# Makefile.am.  `make bench` builds and runs it (BENCH_FLAGS: e.g.
# --out bench/results.md, --rounds 7); `make check` only builds it, for
# tests/bench/tiny.sh, which runs it once in --tiny mode.
.PHONY: bench bench-arc bench-dmarc bench-store

# The cost of ARC against the DKIM work it implies (issue 21): public API
# only, no libopendkim.  `make bench-arc` (BENCH_ARC_FLAGS: e.g. --out
# bench/arc-results.md); tests/bench/arc.sh runs it once in --tiny mode.
check_PROGRAMS += bench/bench-arc
bench_bench_arc_SOURCES = bench/arc.c bench/harness.c bench/harness.h
bench_bench_arc_LDADD = core/libdkimkit.la

bench-arc: bench/bench-arc$(EXEEXT)
	./bench/bench-arc$(EXEEXT) $(BENCH_ARC_FLAGS)

if HAVE_OPENDKIM
check_PROGRAMS += bench/bench
bench_bench_SOURCES = bench/bench.c
bench_bench_CFLAGS = $(AM_CFLAGS) $(OPENDKIM_CFLAGS) $(NETTLE_CFLAGS) \
	$(SPF2_CFLAGS)
bench_bench_LDADD = core/libdkimkit.la $(OPENDKIM_LIBS) $(NETTLE_LIBS) \
	$(GMP_LIBS) $(SPF2_LIBS) -lm

bench: bench/bench$(EXEEXT) plugins/opensmtpd/filter-dkimkit$(EXEEXT)
	./bench/bench$(EXEEXT) \
	    --filter ./plugins/opensmtpd/filter-dkimkit$(EXEEXT) $(BENCH_FLAGS)
else
bench:
	@echo "make bench: libopendkim was not found when configure ran;" \
	    "install libopendkim-dev (scripts/deps) and run configure again" >&2
	@exit 1
endif

# The cost of DMARC on top of a 2 KB verify, and the DNS queries of one
# DMARC evaluation (issue 20): public API only.  `make bench-dmarc`
# (BENCH_DMARC_FLAGS: e.g. --out FILE); tests/bench/dmarc.sh runs it once
# in --tiny mode.
check_PROGRAMS += bench/bench-dmarc
bench_bench_dmarc_SOURCES = bench/dmarc.c bench/harness.c bench/harness.h
bench_bench_dmarc_LDADD = core/libdkimkit.la

bench-dmarc: bench/bench-dmarc$(EXEEXT)
	./bench/bench-dmarc$(EXEEXT) $(BENCH_DMARC_FLAGS)

# dkimkit inside the real servers against what a postmaster would install
# instead (issue 26): Exim's own DKIM, filter-dkimsign, rspamd through
# filter-rspamd, and a chain with and without dkimkit.  A script, run as
# root; `make bench-hosts` (BENCH_HOSTS_FLAGS: e.g. --out FILE, --rounds
# 7); tests/bench/hosts.sh runs it once in --quick mode.
.PHONY: bench-hosts
bench-hosts: cli/dkimkit$(EXEEXT) plugins/opensmtpd/filter-dkimkit$(EXEEXT) \
    plugins/exim/dkimkit_exim.la
	$(top_srcdir)/bench/hosts --build "$(abs_top_builddir)" \
	    $(BENCH_HOSTS_FLAGS)

# The cost of recording a message's row in a SQLite observation store, on
# top of a 2 KB verify (issue 23): `make bench-store` (BENCH_STORE_FLAGS:
# e.g. --out FILE); tests/bench/store.sh runs it once in --tiny mode.
check_PROGRAMS += bench/bench-store
bench_bench_store_SOURCES = bench/store.c bench/harness.c bench/harness.h
bench_bench_store_LDADD = services/libdksstore.la core/libdkimkit.la

bench-store: bench/bench-store$(EXEEXT)
	./bench/bench-store$(EXEEXT) $(BENCH_STORE_FLAGS)

# Building DMARC aggregate reports from stores of 100,000 and 1,000,000
# rows (issue 23: linear in the rows): a script, outside the check.
# `make bench-aggregate` (BENCH_AGGREGATE_FLAGS: e.g. --rounds 5, --out
# FILE).
.PHONY: bench-aggregate
bench-aggregate: cli/dkimkit$(EXEEXT)
	$(top_srcdir)/bench/aggregate --dkimkit ./cli/dkimkit$(EXEEXT) \
	    $(BENCH_AGGREGATE_FLAGS)
