/*
 * atps.c: Authorized Third-Party Signatures (RFC 6541) in the command:
 * each signature's result for verify --atps, and `dkimkit key
 * atps-record`, the record an author domain publishes for a signer (what
 * opendkim-atpszone makes from a list of signers).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char atps_record_usage[] =
    "usage: dkimkit key atps-record --domain AUTHOR --signer SIGNER\n"
    "                               [--hash none|sha1|sha256]\n"
    "\n"
    "Print the zone-file line AUTHOR publishes to let SIGNER sign its mail\n"
    "(RFC 6541): a TXT record \"v=ATPS1; d=SIGNER\" at\n"
    "LABEL._atps.AUTHOR, LABEL being SIGNER in lower case (--hash none) or\n"
    "the base32 of its SHA-1 or SHA-256 digest (default sha256).  The\n"
    "signer signs with `dkimkit sign --atps AUTHOR --atps-hash HASH`.\n"
    "\n"
    "Exit status: 0 printed, 2 usage error.\n";

/* ,"atps":"pass","atps_author":...,"atps_detail":... on a signature. */
void
atps_json(const dkk_verifier *v, size_t i)
{
	const char *author, *detail;
	enum dkk_atps r = dkk_verifier_atps(v, i, &author, &detail);

	printf(",\"atps\":\"%s\",\"atps_author\":", dkk_atps_result_name(r));
	json_string(stdout, author);
	fputs(",\"atps_detail\":", stdout);
	json_string(stdout, detail);
}

void
atps_plain(const dkk_verifier *v, size_t i)
{
	const char *author, *detail;
	enum dkk_atps r = dkk_verifier_atps(v, i, &author, &detail);

	printf("    atps: %s", dkk_atps_result_name(r));
	if (author != NULL)
		printf(" for %s", author);
	printf("%s%s\n", *detail != '\0' ? ": " : "", detail);
}

static int
atps_print(const char *author, const char *signer, const char *hash)
{
	char *name;

	if (dkk_atps_query(signer, author, hash, &name) != DKK_OK)
		return usage_error("key", "no ATPS name for signer '%s' under "
		    "'%s' (domain names, hash none, sha1 or sha256)", signer,
		    author);
	printf("%s. 3600 IN TXT \"v=ATPS1; d=%s\"\n", name, signer);
	free(name);
	return EXIT_PASS;
}

int
cmd_key_atps(int argc, char **argv)
{
	enum { O_DOMAIN = 256, O_SIGNER, O_HASH, O_HELP };
	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "signer", required_argument, NULL, O_SIGNER },
		{ "hash", required_argument, NULL, O_HASH },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *author = NULL, *signer = NULL, *hash = "sha256";
	int c;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_DOMAIN: author = optarg; break;
		case O_SIGNER: signer = optarg; break;
		case O_HASH: hash = optarg; break;
		case O_HELP:
			fputs(atps_record_usage, stdout);
			return EXIT_PASS;
		default:
			return usage_error("key", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (author == NULL || signer == NULL || optind != argc)
		return usage_error("key", "atps-record takes --domain AUTHOR "
		    "and --signer SIGNER, nothing else");
	return atps_print(author, signer, hash);
}
