/*
 * psl.c: the Public Suffix List, for RFC 7489 mode only (RFC 7489 3.2;
 * RFC 9989 replaced it with the DNS Tree Walk).  The list's own rules
 * (publicsuffix.org/list): "rule", "*.rule" and "!rule" lines, comments
 * after "//", the first word of a line counts; an exception rule
 * prevails over every other match, else the match with most labels;
 * with no match the implicit "*" makes the last label a suffix.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmarc.h"

struct psl {
	char **rules;		/* sorted, lower case */
	size_t n;
};

static int
rule_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
has(const struct psl *psl, const char *rule)
{
	return bsearch(&rule, psl->rules, psl->n, sizeof(*psl->rules),
	    rule_cmp) != NULL;
}

/* The rule of one line (lower case), or NULL for none. */
static char *
line_rule(char *line)
{
	char *p, *e;

	for (p = line; *p == ' ' || *p == '\t'; p++)
		;
	if (*p == '\0' || *p == '\n' || (p[0] == '/' && p[1] == '/'))
		return NULL;
	for (e = p; *e != '\0' && *e != ' ' && *e != '\t' && *e != '\n' &&
	    *e != '\r'; e++)
		*e = (char)lower((unsigned char)*e);
	return dkk_strndup(p, (size_t)(e - p));
}

static int
psl_add(struct psl *psl, char *rule, size_t *cap)
{
	char **r;

	if (psl->n == *cap) {
		*cap = *cap ? *cap * 2 : 8192;
		if ((r = dkk_realloc(psl->rules, *cap * sizeof(*r))) == NULL) {
			free(rule);
			return DKK_ENOMEM;
		}
		psl->rules = r;
	}
	psl->rules[psl->n++] = rule;
	return DKK_OK;
}

int
psl_load(const char *path, struct psl **out, struct buf *why)
{
	struct psl *psl;
	char line[1024], *rule;
	size_t cap = 0;
	FILE *f;
	int rc = DKK_OK;

	if ((f = fopen(path, "re")) == NULL) {
		buf_printf(why, "%s: cannot open the Public Suffix List", path);
		return DKK_EIO;
	}
	if ((psl = dkk_calloc(1, sizeof(*psl))) == NULL)
		rc = DKK_ENOMEM;
	while (rc == DKK_OK && fgets(line, sizeof(line), f) != NULL)
		if ((rule = line_rule(line)) != NULL)
			rc = psl_add(psl, rule, &cap);
	if (rc == DKK_OK && ferror(f)) {
		buf_printf(why, "%s: read error", path);
		rc = DKK_EIO;
	} else if (rc == DKK_OK && psl->n == 0) {
		buf_printf(why, "%s: no rules in the Public Suffix List",
		    path);
		rc = DKK_ESYNTAX;
	}
	fclose(f);
	if (rc != DKK_OK) {
		psl_free(psl);
		return rc;
	}
	qsort(psl->rules, psl->n, sizeof(*psl->rules), rule_cmp);
	*out = psl;
	return DKK_OK;
}

void
psl_free(struct psl *psl)
{
	size_t i;

	if (psl == NULL)
		return;
	for (i = 0; i < psl->n; i++)
		free(psl->rules[i]);
	free(psl->rules);
	free(psl);
}

/* The suffix of d holding its last k labels (d has x labels). */
static const char *
suffix(const char *d, size_t x, size_t k)
{
	for (; x > k; x--)
		d = strchr(d, '.') + 1;
	return d;
}

/* Labels of the public suffix of d (lower case, x labels). */
static size_t
suffix_labels(const struct psl *psl, const char *d, size_t x)
{
	char tmp[300];
	size_t k, best = 1;

	for (k = 1; k <= x; k++) {
		const char *s = suffix(d, x, k);

		snprintf(tmp, sizeof(tmp), "!%s", s);
		if (has(psl, tmp))
			return k - 1;
		if (has(psl, s))
			best = k;
		snprintf(tmp, sizeof(tmp), "*.%s", strchr(s, '.') != NULL ?
		    strchr(s, '.') + 1 : "");
		if (k >= 2 && has(psl, tmp))
			best = k;
	}
	return best;
}

/* RFC 7489 3.2: the public suffix that matches the most labels, plus
 * the next label; a domain that is itself a public suffix has no other
 * candidate than itself. */
const char *
psl_org_domain(const struct psl *psl, const char *domain)
{
	char low[256];
	size_t i, x, ps;

	if (strlen(domain) >= sizeof(low) || (x = dmarc_labels(domain)) == 0)
		return domain;
	for (i = 0; domain[i] != '\0'; i++)
		low[i] = (char)lower((unsigned char)domain[i]);
	low[i] = '\0';
	if (low[i - 1] == '.')
		return domain;
	ps = suffix_labels(psl, low, x);
	return ps >= x ? domain : suffix(domain, x, ps + 1);
}
