# The settings vocabulary that the command and the three adapters share
# (plugins/common/settings.h): PIC, so the plugins can link it in.
noinst_LTLIBRARIES += plugins/common/libdkscommon.la
plugins_common_libdkscommon_la_SOURCES = plugins/common/settings.h \
	plugins/common/settings.c plugins/common/selfverify.h \
	plugins/common/selfverify.c plugins/common/reportsend.h \
	plugins/common/reportsend.c
