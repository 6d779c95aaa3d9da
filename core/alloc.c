/*
 * alloc.c: every allocation of the core, so that tests can inject failure.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Set by the test suite: fail the Nth allocation from now (1-based). */
HIDDEN long dkk_alloc_fail_at;

static bool
alloc_fails(void)
{
	if (dkk_alloc_fail_at <= 0)
		return false;
	return --dkk_alloc_fail_at == 0;
}

void *
dkk_malloc(size_t n)
{
	return alloc_fails() ? NULL : malloc(n ? n : 1);
}

void *
dkk_calloc(size_t n, size_t size)
{
	return alloc_fails() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

void *
dkk_realloc(void *p, size_t n)
{
	return alloc_fails() ? NULL : realloc(p, n ? n : 1);
}

char *
dkk_strndup(const char *s, size_t n)
{
	char *p = dkk_malloc(n + 1);

	if (p != NULL) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

char *
dkk_strdup(const char *s)
{
	return dkk_strndup(s, strlen(s));
}
