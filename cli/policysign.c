/*
 * policysign.c: dkimkit sign --opendkim-conf: the policy decides whether
 * the message is signed and with which keys (several with
 * MultipleSignatures); a message it does not sign passes through
 * unchanged but for CRLF line ends, with the reason on standard error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Enough of the message for its From field: the core stops at the end
 * of the header block. */
#define HEAD_MAX (1024 * 1024)

static char *
author_of(FILE *f, const char *name)
{
	char *head, *addr = NULL;
	size_t n;

	if ((head = malloc(HEAD_MAX)) == NULL) {
		warnx("out of memory");
		return NULL;
	}
	n = fread(head, 1, HEAD_MAX, f);
	if (dkk_author_address(head, n, &addr) != DKK_OK)
		addr = NULL;
	free(head);
	if (addr == NULL)
		warnx("%s: no single author address in a single From field",
		    name);
	return addr;
}

static int
sign_all(dkk_ctx *ctx, dkk_policy *p, const struct dkk_decision *d, FILE *f,
    const char *name)
{
	struct dkk_sign_opts so;
	char **fields;
	size_t i, n = 0;
	int rc = 0;

	if ((fields = calloc(d->nsigs, sizeof(*fields))) == NULL) {
		warnx("out of memory");
		return EXIT_TROUBLE;
	}
	for (i = 0; rc == 0 && i < d->nsigs; i++) {
		if (dkk_policy_sign_opts(p, &d->sigs[i], &so) != DKK_OK) {
			ctx_warn(ctx);
			rc = EXIT_TROUBLE;
		} else if ((rc = sign_one(ctx, &so, f, name,
		    &fields[n])) == 0)
			n++;
	}
	if (rc == 0)
		rc = sign_emit(f, fields, n, name, stdout);
	for (i = 0; i < n; i++)
		free(fields[i]);
	free(fields);
	return rc;
}

int
sign_by_policy(dkk_ctx *ctx, const char *conf,
    struct dkk_policy_client *c, FILE *f, const char *name)
{
	struct dkk_decision d;
	dkk_policy *p;
	char *addr;
	int rc = EXIT_TROUBLE;

	if (policy_open(ctx, conf, &p) != 0)
		return EXIT_TROUBLE;
	if ((addr = author_of(f, name)) == NULL) {
		dkk_policy_free(p);
		return EXIT_TROUBLE;
	}
	c->from = addr;
	if (dkk_policy_decide(p, c, &d) != DKK_OK)
		ctx_warn(ctx);
	else if (!d.sign) {
		warnx("%s: not signed: %s", name, d.reason);
		rc = sign_emit(f, NULL, 0, name, stdout);
	} else {
		/* RequirePublishedKey left keys out: say which, and why */
		if (d.nunused > 0)
			warnx("%s: keys left out: %s", name, d.reason);
		rc = sign_all(ctx, p, &d, f, name);
	}
	dkk_decision_clear(&d);
	free(addr);
	dkk_policy_free(p);
	return rc;
}
