/*
 * keygen.c: dkimkit keygen: a new key pair, the private half in a file
 * only its owner can read, the public half as a zone-file line.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char keygen_usage[] =
    "usage: dkimkit keygen --algorithm rsa|ed25519 [--bits N]\n"
    "                      --domain D --selector S [--out FILE]\n"
    "\n"
    "Write a new private key to FILE (default SELECTOR.pem, mode 0600, never\n"
    "overwriting) and print the DNS TXT record that publishes its public\n"
    "key, as a zone-file line.\n"
    "\n"
    "  --bits N   RSA modulus size, 1024 to 8192 (default 2048)\n";

/* One zone-file line; the record is split into strings of at most 255
 * octets, which DNS joins again (RFC 6376 3.6.2.2). */
void
print_record(FILE *out, const char *sel, const char *dom, const char *type,
    const char *p64)
{
	char *rec;
	size_t i, len;

	if (asprintf(&rec, "v=DKIM1; k=%s; p=%s", type, p64) < 0)
		return;
	fprintf(out, "%s._domainkey.%s. 3600 IN TXT", sel, dom);
	len = strlen(rec);
	for (i = 0; i < len; i += 255)
		fprintf(out, " \"%.*s\"", (int)(len - i < 255 ? len - i :
		    255), rec + i);
	fputc('\n', out);
	free(rec);
}

static int
write_key(const char *path, const char *pem)
{
	size_t len = strlen(pem);
	int fd;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		warnx("%s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, pem, len) != (ssize_t)len || close(fd) != 0) {
		warnx("%s: %s", path, strerror(errno));
		unlink(path);
		return -1;
	}
	return 0;
}

/* A new key pair: the private key written to path, the public key's
 * base64 in *p64 (free with free()).  0, or -1 with a message. */
int
new_key(dkk_ctx *ctx, const char *type, unsigned bits, const char *path,
    char **p64)
{
	dkk_key *key;
	char *pem = NULL;
	int rc, ret = -1;

	*p64 = NULL;
	if ((rc = dkk_key_generate(ctx, type, bits, &pem, &key)) != DKK_OK)
		ctx_warn(ctx);
	else if ((rc = dkk_key_public(key, p64)) != DKK_OK)
		warnx("%s", dkk_strerror(rc));
	else
		ret = write_key(path, pem);
	if (pem != NULL)
		memset(pem, 0, strlen(pem));
	free(pem);
	return ret;
}

static int
keygen(const char *type, unsigned bits, const char *dom, const char *sel,
    const char *out)
{
	dkk_ctx *ctx;
	char *p64 = NULL, *path = NULL;
	int ret = EXIT_TROUBLE;

	if (dkk_ctx_new(&ctx) != DKK_OK)
		return EXIT_TROUBLE;
	if (out == NULL && asprintf(&path, "%s.pem", sel) < 0)
		path = NULL;
	if (out == NULL && path == NULL)
		warnx("out of memory");
	else if (new_key(ctx, type, bits, out != NULL ? out : path,
	    &p64) == 0) {
		print_record(stdout, sel, dom, type, p64);
		ret = fflush(stdout) == 0 ? 0 : EXIT_TROUBLE;
	}
	free(p64);
	free(path);
	dkk_ctx_free(ctx);
	return ret;
}

int
cmd_keygen(int argc, char **argv)
{
	enum { O_ALG = 256, O_BITS, O_DOMAIN, O_SEL, O_OUT, O_HELP };
	static const struct option longopts[] = {
		{ "algorithm", required_argument, NULL, O_ALG },
		{ "bits", required_argument, NULL, O_BITS },
		{ "domain", required_argument, NULL, O_DOMAIN },
		{ "selector", required_argument, NULL, O_SEL },
		{ "out", required_argument, NULL, O_OUT },
		{ "help", no_argument, NULL, O_HELP },
		{ NULL, 0, NULL, 0 }
	};
	const char *alg = NULL, *dom = NULL, *sel = NULL, *out = NULL;
	long long bits = 2048;
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+", longopts, NULL)) != -1) {
		switch (c) {
		case O_ALG: alg = optarg; break;
		case O_BITS:
			if (parse_int64(optarg, 1024, 8192, &bits) != 0)
				return usage_error("keygen",
				    "--bits must be 1024 to 8192, not '%s'",
				    optarg);
			break;
		case O_DOMAIN: dom = optarg; break;
		case O_SEL: sel = optarg; break;
		case O_OUT: out = optarg; break;
		case O_HELP:
			fputs(keygen_usage, stdout);
			return 0;
		default:
			return usage_error("keygen", "unknown option '%s'",
			    argv[optind - 1]);
		}
	}
	if (alg == NULL || dom == NULL || sel == NULL)
		return usage_error("keygen",
		    "--algorithm, --domain and --selector are required");
	if (strcmp(alg, "rsa") != 0 && strcmp(alg, "ed25519") != 0)
		return usage_error("keygen", "unknown algorithm '%s'", alg);
	if (optind < argc)
		return usage_error("keygen", "unexpected argument '%s'",
		    argv[optind]);
	return keygen(alg, (unsigned)bits, dom, sel, out);
}
