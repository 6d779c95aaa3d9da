/*
 * unit.h: shared bits of the CUnit suites.
 */
#ifndef DKK_UNIT_H
#define DKK_UNIT_H

#include <CUnit/CUnit.h>

#include "internal.h"

/* Each test file registers one suite. */
void suite_codec(void);
void suite_taglist(void);
void suite_canon(void);
void suite_header(void);
void suite_sig(void);
void suite_keyrec(void);
void suite_zone(void);
void suite_verify(void);
void suite_sign(void);
void suite_vectors(void);

/* Register a suite from a NULL-terminated table. */
struct unit_test {
	const char *name;
	void (*fn)(void);
};
void unit_suite(const char *name, const struct unit_test *tests);

/* Paths of the source tree and of ../shared/vectors/rfc. */
const char *unit_srcdir(void);
char *unit_vector(const char *file);	/* free with free() */
char *unit_slurp(const char *path, size_t *len);	/* free with free() */

/* Fail the Nth allocation of the core from now (0: never). */
extern long dkk_alloc_fail_at;

#endif
