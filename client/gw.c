/* gw.c: referral-gw, the HTTP gateway of a county's referral node: its
 * own process, a client of the local node through libreferral, serving
 * HTTP/JSON (and the admin console) with libmicrohttpd and jansson.
 *
 *   referral-gw --data DIR [--listen HOST:PORT] [--config FILE]
 *   referral-gw --data DIR --print-openapi
 *   referral-gw --print-settings
 *
 * DIR is the node's data folder: the gateway only talks to the node's
 * client socket there (ref_open) and reads nothing else of it. It holds
 * no secrets: each caller's token goes to the node with each call.
 *
 * Promises: every setting is checked before anything starts, and a bad
 * one stops the start with a message naming it (English, like the log,
 * where systemd puts it); the console speaks the locale's language;
 * SIGTERM or SIGINT stops listening and lets the requests under way
 * finish. */
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "errors.h"
#include "gw-conf.h"
#include "gw-http.h"
#include "gw-log.h"
#include "gw-node.h"
#include "gw-openapi.h"
#include "gw-server.h"
#include "gw-session.h"
#include "i18n.h"
#include "notice-pdf.h"
#include "util.h"

static int usage(void)
{
	fputs(_(
"usage: referral-gw --data DIR [--listen HOST:PORT] [--config FILE]\n"
"       referral-gw --data DIR --print-openapi   (the OpenAPI document,\n"
"                                                 from the running node)\n"
"       referral-gw --print-settings             (every setting, Markdown)\n"
"DIR is the node's data folder; FILE is referral-gw.conf (optional).\n"),
	      stderr);
	return 2;
}

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "referral-gw: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

static int print_openapi(gw_node_t *node)
{
	char err[2048], *s;
	json_t *ops, *doc;
	int r = gw_node_ops(node, &ops, err, sizeof(err));

	if (r)
		return fail("cannot ask the node for its operations: %s%s",
			    err, "");
	doc = gw_openapi_build(ops);
	json_decref(ops);
	s = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!s)
		return fail("the node's operations do not make a document%s%s",
			    "", "");
	printf("%s\n", s);
	free(s);
	return 0;
}

/* A PEM file of the [tls] settings; the key must not be readable by
 * everyone (its group may be the gateway's). */
static int read_pem(const char *setting, const char *path, bool secret,
		    char **ret)
{
	struct stat st;
	uint8_t *buf;
	size_t len;
	int r;

	if (secret && stat(path, &st) == 0 && (st.st_mode & S_IROTH))
		return fail("[tls] %s = %s is readable by others: chmod o-r it",
			    setting, path);
	r = util_read_file(path, 1 << 20, &buf, &len);
	if (r)
		return fail("[tls] %s: cannot read it (%s)", setting,
			    ref_strerror(r));
	*ret = (char *)buf;
	return 0;
}

int main(int argc, char **argv)
{
	const char *data = NULL, *listen = NULL, *config = NULL;
	bool want_openapi = false;
	static gw_t gw;     /* large (the counters); lives for the process */
	char err[1024], *cert = NULL, *key = NULL;
	gw_server_t *srv = NULL;
	sigset_t sigs;
	json_t *ops;
	int r, sig;

	/* The console's pages and the usage follow the locale (LANG); the
	 * API's JSON, the log and the start's errors stay English, for
	 * machines and for readers in other counties. Numbers (/metrics)
	 * are written as C writes them in any locale. */
	i18n_setup();
	setlocale(LC_NUMERIC, "C");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		bool more = i + 1 < argc;
		if (!strcmp(a, "--data") && more)
			data = argv[++i];
		else if (!strcmp(a, "--listen") && more)
			listen = argv[++i];
		else if (!strcmp(a, "--config") && more)
			config = argv[++i];
		else if (!strcmp(a, "--print-openapi"))
			want_openapi = true;
		else if (!strcmp(a, "--print-settings")) {
			gw_conf_print_table(stdout);
			return 0;
		} else
			return usage();
	}
	if (!data || !*data)
		return usage();
	r = gw_conf_load(config, &gw.conf, err, sizeof(err));
	if (!r && listen)
		r = gw_conf_set(&gw.conf, "listen", listen, err, sizeof(err));
	if (!r)
		r = gw_conf_check(&gw.conf, err, sizeof(err));
	if (r) {
		if (listen && strstr(err, "listen"))
			return fail("--listen %s: %s", listen, err);
		return fail("%s%s", err, "");
	}
	gw_log_set_level(gw.conf.log_level);
	/* Both read their one-time state here, before any thread: the test
	 * clock's offset, and jansson's hash seed. */
	util_now_ms();
	json_object_seed(0);
	gw.node = gw_node_new(data, (int)gw.conf.node_timeout_ms);
	if (!gw.node)
		return fail("out of memory%s%s", "", "");
	if (want_openapi) {
		r = print_openapi(gw.node);
		gw_node_free(&gw.node);
		return r;
	}
	if (gw.conf.tls_cert[0] &&
	    (read_pem("tls_cert", gw.conf.tls_cert, false, &cert) ||
	     read_pem("tls_key", gw.conf.tls_key, true, &key)))
		return 1;
	gw.tls = cert != NULL;
	gw.sessions = gw_sessions_new(&gw.conf);
	if (!gw.sessions)
		return fail("out of memory%s%s", "", "");
	/* Threads the daemon starts inherit this mask: only the main thread
	 * takes the stop signals, in sigwait below. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	r = gw_server_start(&gw, cert, key, &srv, err, sizeof(err));
	if (r)
		return fail("%s%s", err, "");
	/* The console's language as its pages say it (the catalog's answer
	 * for "en"): an admin sees here if the locale or the catalog is
	 * missing where Chinese was meant. */
	gw_log(GW_INFO, "started listen=%s tls=%s data=%s console_lang=%s",
	       gw.conf.listen, gw.tls ? "yes" : "no", data, _("en"));
	r = gw_node_ops(gw.node, &ops, err, sizeof(err));
	if (r)
		gw_log(GW_WARN, "node_unavailable code=%s: calls get 503 until "
		       "it answers", gw_node_code_name(r));
	else
		json_decref(ops);
	sigwait(&sigs, &sig);
	gw_log(GW_INFO, "stopping signal=%d", sig);
	gw_server_stop(&srv);
	gw_sessions_free(&gw.sessions);
	gw_node_free(&gw.node);
	notice_pdf_release();
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	free(cert);
	gw_log(GW_INFO, "stopped");
	return 0;
}
