/* cli-store.c: see cli-store.h. The data key ring is found and read by
 * store/datakey.c, as the node finds it; refctl never makes one here. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "i18n.h"
#include "cli-store.h"
#include "datakey.h"

int cli_store_config(config_t *ret)
{
	char err[600];
	config_t c;
	int r;

	if (cli_need_data_dir())
		return 1;
	r = config_load(cli_data_dir, &c, err, sizeof(err));
	if (r == -ENOENT) {
		config_defaults(&c);
		snprintf(c.data_dir, sizeof(c.data_dir), "%s", cli_data_dir);
	} else if (r) {
		return cli_fail("%s", err);
	}
	*ret = c;
	return 0;
}

int cli_store_open(store_t **ret_store, seal_t **ret_seal)
{
	store_opts_t so = { .map_initial = 1 << 20, .map_max = (size_t)1 << 40,
			    .readonly = true };
	char path[4096], err[600];
	seal_t *seal = NULL;
	store_t *s = NULL;
	config_t c;
	int r;

	if (cli_store_config(&c))
		return 1;
	/* No key file is not an error here: the commands still check what
	 * is in clear, and a sealed record then names the missing key. */
	r = datakey_load(&c, &seal, err, sizeof(err));
	if (r && r != -ENOENT)
		return cli_fail("%s", err);
	snprintf(path, sizeof(path), "%s/store", cli_data_dir);
	r = store_open(path, &so, &s);
	if (r) {
		seal_free(&seal);
		return cli_fail(_("cannot open the store in %s: %s"), path,
				store_open_error()[0] ? store_open_error()
						      : ref_strerror(r));
	}
	store_set_seal(s, seal);
	*ret_store = s;
	*ret_seal = seal;
	return 0;
}
