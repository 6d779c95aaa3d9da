/*
 * walk.c: the DNS Tree Walk, RFC 9989 4.10: which names are queried,
 * and which Organizational Domain the answers give (4.10.2).  Pure
 * functions; dmarc.c does the lookups.
 */
#include <string.h>

#include "dmarc.h"

size_t
dmarc_labels(const char *domain)
{
	size_t n = *domain != '\0';

	for (; *domain != '\0'; domain++)
		if (*domain == '.' && domain[1] != '\0')
			n++;
	return n;
}

/* The suffix of domain holding its last n labels (all of it when it
 * has no more). */
static const char *
last_labels(const char *domain, size_t n)
{
	size_t x = dmarc_labels(domain);

	while (x > n) {
		const char *dot = strchr(domain, '.');

		if (dot == NULL)
			break;
		domain = dot + 1;
		x--;
	}
	return domain;
}

/* 4.10 step 1 queries the domain itself; step 4 goes to its parent, or
 * with eight labels or more straight to its last seven; step 7 drops one
 * label at a time down to a single label.  A 13-label name gives the
 * eight queries of the RFC's example.  One pass over the name: where
 * each label starts, the last DMARC_WALK_MAX of them kept in a ring,
 * so that a long name costs no more than a short one. */
size_t
dmarc_walk_names(const char *domain, const char *names[DMARC_WALK_MAX])
{
	const char *start[DMARC_WALK_MAX];
	size_t x = 0, n = 0, k, keep;
	const char *p;

	if (*domain == '\0')
		return 0;
	for (p = domain; *p != '\0'; p++)
		if (p == domain || (p[-1] == '.' && *p != '\0'))
			start[x++ % DMARC_WALK_MAX] = p;
	names[n++] = domain;
	/* The parent's labels (x - 1), or the last seven. */
	keep = x >= 8 ? 7 : x - 1;
	for (k = keep; k > 0; k--)
		names[n++] = start[(x - k) % DMARC_WALK_MAX];
	return n;
}

/* 4.10.2: from the longest name to the shortest, a psd=n record marks
 * the Organizational Domain; a psd=y record other than the starting
 * one puts it one label below; else the shortest name with a record;
 * with none, the starting domain. */
const char *
dmarc_org_domain(const char *const *names, const struct dmarc_found *found,
    size_t n)
{
	const char *shortest = NULL;
	size_t i;

	for (i = 0; i < n; i++) {
		if (found[i].state != 1)
			continue;
		if (found[i].rec.psd == 'n')
			return names[i];
		if (found[i].rec.psd == 'y' && i > 0)
			return last_labels(names[0],
			    dmarc_labels(names[i]) + 1);
		shortest = names[i];
	}
	return shortest != NULL ? shortest : names[0];
}
