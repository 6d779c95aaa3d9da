# plugins/opensmtpd/local.mk: build rules of the opensmtpd adapter, included by Makefile.am.
