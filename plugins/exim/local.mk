# plugins/exim/local.mk: build rules of the exim adapter, included by Makefile.am.
