# plugins/opensmtpd/local.mk: build rules of the opensmtpd adapter, included by Makefile.am.
#
# filter-dkimkit: the smtpd filter process (filter protocol 0.6).
libexec_PROGRAMS += plugins/opensmtpd/filter-dkimkit
plugins_opensmtpd_filter_dkimkit_SOURCES = \
	plugins/opensmtpd/filter.h plugins/opensmtpd/main.c \
	plugins/opensmtpd/proto.c plugins/opensmtpd/out.c \
	plugins/opensmtpd/session.c \
	plugins/opensmtpd/spool.c plugins/opensmtpd/message.c \
	plugins/opensmtpd/sign.c plugins/opensmtpd/after.c \
	plugins/opensmtpd/arstrip.c \
	plugins/opensmtpd/verify.c plugins/opensmtpd/log.c \
	plugins/opensmtpd/facts.c plugins/opensmtpd/policy.c \
	plugins/opensmtpd/dmarc.c plugins/opensmtpd/selfv.c \
	plugins/opensmtpd/pool.h plugins/opensmtpd/pool.c \
	plugins/opensmtpd/report.c
plugins_opensmtpd_filter_dkimkit_CFLAGS = $(AM_CFLAGS) -pthread
plugins_opensmtpd_filter_dkimkit_LDFLAGS = -pthread
plugins_opensmtpd_filter_dkimkit_LDADD = services/libdksstore.la \
	plugins/common/libdkscommon.la core/libdkimkit.la
dist_man_MANS += plugins/opensmtpd/filter-dkimkit.8
