/*
 * sieve-dkimkit-plugin.c: the Pigeonhole plugin entry points.
 *
 * Pigeonhole finds a plugin named "sieve_dkimkit" in
 * lib<NN>_sieve_dkimkit_plugin.so and calls the symbols below, so their
 * names are fixed by that file name.  Loading only registers the
 * extension; "sieve_extensions = +vnd.dkimkit" enables it, and enabling
 * is what reads the settings (ext-dkimkit.c).
 */
#include "lib.h"

#include "sieve-common.h"
#include "sieve-extensions.h"

#include "ext-dkimkit-common.h"

/* Dovecot's headers must have been built against Dovecot's config.h, not
 * dkimkit's (both define PACKAGE_*; only Dovecot's has this). */
#ifndef DOVECOT_ABI_VERSION
#error "Dovecot's config.h was not included: check the include path order"
#endif

const char *sieve_dkimkit_plugin_version = PIGEONHOLE_ABI_VERSION;

void sieve_dkimkit_plugin_load(struct sieve_instance *svinst, void **context);
void sieve_dkimkit_plugin_unload(struct sieve_instance *svinst, void *context);
void sieve_dkimkit_plugin_init(void);
void sieve_dkimkit_plugin_deinit(void);

void
sieve_dkimkit_plugin_load(struct sieve_instance *svinst, void **context)
{
	const struct sieve_extension *ext;

	/* FALSE: load only once a setting enables it. */
	ext = sieve_extension_register(svinst, &dkimkit_extension, FALSE);
	*context = (void *)ext;
}

void
sieve_dkimkit_plugin_unload(struct sieve_instance *svinst ATTR_UNUSED,
    void *context)
{
	sieve_extension_unregister(context);
}

/* Module hooks: nothing is process-wide; all state hangs off the
 * extension of each Sieve instance. */
void
sieve_dkimkit_plugin_init(void)
{
}

void
sieve_dkimkit_plugin_deinit(void)
{
}
