# plugins/dovecot/local.mk: build rules of the dovecot adapter, included by Makefile.am.
