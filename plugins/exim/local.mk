# plugins/exim/local.mk: build rules of the exim adapter, included by Makefile.am.
#
# dkimkit_exim.so, a module for Exim's ${dlfunc}.  It carries the core
# (linked in whole from the convenience library) and exports only the four
# dlfuncs: the dkk_* symbols stay inside, so they cannot clash with another
# copy of the library loaded into the same Exim.
if BUILD_EXIM
pkglib_LTLIBRARIES += plugins/exim/dkimkit_exim.la
plugins_exim_dkimkit_exim_la_SOURCES = plugins/exim/exim.h \
	plugins/exim/ctx.c plugins/exim/spool.c plugins/exim/verify.c \
	plugins/exim/facts.c \
	plugins/exim/sign.c plugins/exim/psign.c plugins/exim/seal.c plugins/exim/policy.c \
	plugins/exim/report.c plugins/exim/store.c
# -isystem, not -I: local_scan.h has an old-style declaration, void
# (*fn)(), that -Wstrict-prototypes would turn into an error; Exim's
# headers are not ours to fix.
plugins_exim_dkimkit_exim_la_CPPFLAGS = $(AM_CPPFLAGS) \
	-isystem /usr/include/exim4
plugins_exim_dkimkit_exim_la_LDFLAGS = -module -avoid-version -shared \
	-export-symbols-regex '^(verify|result|sign|seal)$$'
plugins_exim_dkimkit_exim_la_LIBADD = services/libdksstore.la \
	plugins/common/libdkscommon.la core/libdkimkit.la
endif
