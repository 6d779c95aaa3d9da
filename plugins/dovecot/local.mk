# plugins/dovecot/local.mk: build rules of the dovecot adapter, included by Makefile.am.
#
# lib90_sieve_dkimkit_plugin.so: a Pigeonhole (Dovecot Sieve) plugin that
# adds the "vnd.dkimkit" extension.  Pigeonhole derives the entry point
# names from the file name (sieve_dkimkit_plugin_*), so the name is fixed.
if BUILD_DOVECOT
pkglib_LTLIBRARIES += plugins/dovecot/lib90_sieve_dkimkit_plugin.la
plugins_dovecot_lib90_sieve_dkimkit_plugin_la_SOURCES = \
	plugins/dovecot/ext-dkimkit-common.h \
	plugins/dovecot/sieve-dkimkit-plugin.c \
	plugins/dovecot/ext-dkimkit.c \
	plugins/dovecot/tst-dkim.c \
	plugins/dovecot/dkimkit-message.c \
	plugins/dovecot/dkimkit-report.c
# Dovecot's lib.h includes "config.h" by a quoted name, which resolves in
# its own directory first: Dovecot's config.h wins over the -I. that
# automake's DEFAULT_INCLUDES puts ahead of everything (checked at compile
# time in sieve-dkimkit-plugin.c).  These replace AM_CPPFLAGS, so no
# -D_GNU_SOURCE of dkimkit's leaks into Dovecot's configuration.
# -isystem rather than -I: Dovecot's own headers do not pass dkimkit's
# warning flags (istream.h has a "void (*)()" parameter, which
# -Wstrict-prototypes rejects); as system headers they are exempt while
# the plugin's own code keeps every warning.
plugins_dovecot_lib90_sieve_dkimkit_plugin_la_CPPFLAGS = -DHAVE_CONFIG_H \
	-isystem /usr/include/dovecot -isystem /usr/include/dovecot/sieve \
	-I$(top_srcdir)/core -I$(top_srcdir)/plugins/common \
	-I$(top_srcdir)/services/store
# Dovecot's headers are GNU C (statement expressions, typeof).
plugins_dovecot_lib90_sieve_dkimkit_plugin_la_CFLAGS = -std=gnu99 \
	$(WARN_CFLAGS)
# Pigeonhole dlopens plugins RTLD_GLOBAL and looks up only the
# sieve_dkimkit_plugin_* symbols: export nothing else (not the core's
# dkk_* either), so nothing can clash with other plugins.
plugins_dovecot_lib90_sieve_dkimkit_plugin_la_LDFLAGS = -module \
	-avoid-version -shared -export-symbols-regex '^sieve_dkimkit_plugin_'
plugins_dovecot_lib90_sieve_dkimkit_plugin_la_LIBADD = \
	services/libdksstore.la plugins/common/libdkscommon.la \
	core/libdkimkit.la
endif
