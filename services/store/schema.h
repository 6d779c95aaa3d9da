/*
 * schema.h: the store's schema version and its migration steps.
 */
#ifndef DKST_SCHEMA_H
#define DKST_SCHEMA_H

#include "backend.h"

/* The version recorded in schema_version (0 when none): 0 or -1. */
int dkst_schema_version(struct dkst_backend *b, int *version);
/* ROLLBACK, keeping in b->err the failure that called for it. */
void dkst_rollback(struct dkst_backend *b);

/* Apply the steps after the store's version up to target: 0 or -1 with
 * the reason in b->err (a store newer than this code is an error). */
int dkst_schema_migrate(struct dkst_backend *b, int target);

/* For a read-only open: 0 when the store is at DKST_SCHEMA_VERSION, or
 * -1 with the reason (no schema, older, newer) in b->err. */
int dkst_schema_check(struct dkst_backend *b);

#endif
