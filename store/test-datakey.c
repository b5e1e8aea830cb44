/* test-datakey.c: the data key file's one owner: a ring made once (mode
 * 0600, never overwritten), loaded and refused as the node and refctl
 * need, and never made anew beside a store that holds sealed records. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../proto/testutil.h"
#include "datakey.h"
#include "errors.h"

static char dir[] = "/tmp/test-datakey-XXXXXX";

static store_t *open_store(const char *name)
{
	char path[128];
	store_opts_t o = { 1 << 20, 4 << 20, 90, 0, false };
	store_t *s = NULL;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	CHECK(!store_open(path, &o, &s));
	return s;
}

int main(void)
{
	config_t c;
	seal_t *seal = NULL;
	store_t *s;
	char path[256], err[400], cmd[300];
	struct stat st;
	bool created = true;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	config_defaults(&c);
	snprintf(c.data_dir, sizeof(c.data_dir), "%s", dir);
	snprintf(c.data_key, sizeof(c.data_key), "data.keys");
	snprintf(c.alg, sizeof(c.alg), "ed25519");
	datakey_path(&c, path, sizeof(path));
	CHECK(!strcmp(path + strlen(dir), "/data.keys"));
	CHECK_EQ_INT(datakey_alg(&c), SEAL_AES_256_GCM);
	snprintf(c.alg, sizeof(c.alg), "sm2-sm3");
	CHECK_EQ_INT(datakey_alg(&c), SEAL_SM4_GCM);
	snprintf(c.alg, sizeof(c.alg), "ed25519");

	/* No file yet: loading says so and makes none. */
	CHECK_EQ_INT(datakey_load(&c, &seal, err, sizeof(err)), -ENOENT);
	CHECK(stat(path, &st) < 0);
	/* Made once, private, never overwritten. */
	CHECK(!datakey_create(&c));
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK_EQ_INT(datakey_create(&c), -EEXIST);
	CHECK(!datakey_load(&c, &seal, err, sizeof(err)));
	CHECK(seal && seal_key_count(seal) == 1);
	seal_free(&seal);
	chmod(path, 0644);
	CHECK_EQ_INT(datakey_load(&c, &seal, err, sizeof(err)), REF_E_KEY_PERMS);
	CHECK(seal == NULL);
	unlink(path);

	/* The node's start on an empty store: a ring is made. */
	s = open_store("store-a");
	CHECK(!datakey_open(&c, s, &seal, &created, err, sizeof(err)));
	CHECK(created && seal != NULL);
	/* A sealed record goes in under it. */
	CHECK(!store_begin(s));
	CHECK(!store_put(s, STORE_INBOX, "m1", 2, "personal", 8));
	CHECK(!store_commit(s));
	store_close(&s);
	seal_free(&seal);
	/* The key file lost: a new ring would not open that record, so the
	 * start is refused, and no file is made. */
	unlink(path);
	s = open_store("store-a");
	CHECK_EQ_INT(datakey_open(&c, s, &seal, &created, err, sizeof(err)),
		     REF_E_CONFIG);
	CHECK(strstr(err, "put back the copy") != NULL);
	CHECK(stat(path, &st) < 0);
	store_close(&s);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return test_finish("datakey");
}
