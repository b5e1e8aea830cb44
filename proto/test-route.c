/* test-route.c: directory_parse_serves and route_pick on directories made in
 * memory: the serves and fallback fields read (old entries without them
 * stay valid, malformed ones are named), and each way a matter is routed:
 * by handling body before division, the fallback, two candidates refused,
 * this node's own matter, and no role but a legal-aid centre picked. */
#include <string.h>
#include <jansson.h>

#include "testutil.h"
#include "directory.h"
#include "errors.h"
#include "route.h"

static dir_node_t nodes[6];
static const char *const labour[] = { "labour", NULL };

static int entry(dir_node_t *n, const char *code, const char *name,
		 const char *role, const char *json)
{
	char err[200];
	json_t *j = json_loads(json, 0, NULL);
	int r;

	memset(n, 0, sizeof(*n));
	snprintf(n->code, sizeof(n->code), "%s", code);
	snprintf(n->name, sizeof(n->name), "%s", name);
	snprintf(n->role, sizeof(n->role), "%s", role);
	n->accepts = calloc(2, sizeof(*n->accepts));
	snprintf(n->accepts[0], sizeof(n->accepts[0]), "%s", labour[0]);
	n->n_accepts = 1;
	r = directory_parse_serves(j, n, err, sizeof(err));
	json_decref(j);
	return r;
}

static int parse_err(const char *json, char *err, size_t len)
{
	dir_node_t n;
	json_t *j = json_loads(json, 0, NULL);
	int r;

	memset(&n, 0, sizeof(n));
	strcpy(n.code, "350581");
	err[0] = '\0';
	r = directory_parse_serves(j, &n, err, len);
	json_decref(j);
	directory_free_serves(&n);
	return r;
}

int main(void)
{
	directory_t d = { .nodes = nodes, .n_nodes = 6 };
	route_t rt;
	char err[200];

	CHECK_EQ_INT(entry(&nodes[0], "350581", "石狮", "legal_aid_centre",
		"{\"serves\":{\"divisions\":[\"350581\"],\"bodies\":[\"石狮市人民法院\"]},"
		"\"fallback\":\"350503\"}"), 0);
	CHECK_EQ_INT(entry(&nodes[1], "350582", "晋江", "legal_aid_centre",
		"{\"serves\":{\"divisions\":[\"350582\"],\"bodies\":[\"晋江市人民法院\","
		"\"泉州市中级人民法院\"]}}"), 0);
	CHECK_EQ_INT(entry(&nodes[2], "350583", "南安", "legal_aid_centre",
		"{\"serves\":{\"bodies\":[\"泉州市中级人民法院\"]}}"), 0);
	CHECK_EQ_INT(entry(&nodes[3], "350503", "泉州", "legal_aid_centre", "{}"), 0);
	CHECK_EQ_INT(entry(&nodes[4], "350521", "晋江法院", "court",
		"{\"serves\":{\"bodies\":[\"晋江市人民法院\"],\"divisions\":[\"350584\"]}}"), 0);
	CHECK_EQ_INT(entry(&nodes[5], "350524", "安溪", "legal_aid_centre",
		"{\"serves\":{\"divisions\":[\"350524\"]}}"), 0);
	CHECK(nodes[0].n_serves_bodies == 1 && !strcmp(nodes[0].fallback, "350503"));
	CHECK(nodes[3].n_serves_bodies == 0 && !nodes[3].fallback[0]);

	/* Malformed fields are named; absent ones are fine. */
	CHECK_EQ_INT(parse_err("{}", err, sizeof(err)), 0);
	CHECK_EQ_INT(parse_err("{\"serves\":[]}", err, sizeof(err)), REF_E_DIRECTORY);
	CHECK(strstr(err, "node 350581: serves is not an object") != NULL);
	CHECK_EQ_INT(parse_err("{\"fallback\":\"3505\"}", err, sizeof(err)), REF_E_DIRECTORY);
	CHECK(strstr(err, "fallback is not a six-digit") != NULL);
	CHECK_EQ_INT(parse_err("{\"serves\":{\"divisions\":[\"abcdef\"]}}", err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(strstr(err, "serves.divisions") != NULL);
	CHECK_EQ_INT(parse_err("{\"serves\":{\"bodies\":[\"\"]}}", err, sizeof(err)),
		     REF_E_DIRECTORY);
	CHECK(strstr(err, "serves.bodies") != NULL);
	CHECK_EQ_INT(parse_err("{\"serves\":{\"bodies\":\"x\"}}", err, sizeof(err)),
		     REF_E_DIRECTORY);

	/* The body: the court serving it too is no candidate. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "晋江市人民法院", "", &rt), 0);
	CHECK(rt.how == ROUTE_BODY && rt.to == &nodes[1]);
	/* The body comes before the division. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "晋江市人民法院", "350524", &rt), 0);
	CHECK(rt.how == ROUTE_BODY && rt.to == &nodes[1]);
	/* An unlisted body: the division. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "某调解组织", "350524", &rt), 0);
	CHECK(rt.how == ROUTE_DIVISION && rt.to == &nodes[5]);
	/* Nobody: the sender's fallback; a sender without one: refused. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "福州市中级人民法院", "", &rt), 0);
	CHECK(rt.how == ROUTE_FALLBACK && rt.to == &nodes[3]);
	CHECK_EQ_INT(route_pick(&d, "350582", "labour", "福州市中级人民法院", "", &rt),
		     REF_E_UNKNOWN_NODE);
	CHECK(rt.how == ROUTE_NONE && !rt.to && strstr(rt.why, "no fallback"));
	/* A division only the court lists: the fallback, not the court. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "", "350584", &rt), 0);
	CHECK(rt.how == ROUTE_FALLBACK && rt.to == &nodes[3]);
	/* Two: refused, both named. */
	CHECK_EQ_INT(route_pick(&d, "350581", "labour", "泉州市中级人民法院", "", &rt),
		     REF_E_REFUSED);
	CHECK(rt.how == ROUTE_AMBIGUOUS && !rt.to && rt.n_candidates == 2);
	CHECK(strstr(rt.why, "350582 (晋江), 350583 (南安)") != NULL);
	/* One of two is the sender: its own matter. */
	CHECK_EQ_INT(route_pick(&d, "350582", "labour", "泉州市中级人民法院", "", &rt),
		     REF_E_UNKNOWN_NODE);
	CHECK(rt.how == ROUTE_HERE);
	/* A case type nobody takes: the fallback does not either. */
	CHECK_EQ_INT(route_pick(&d, "350581", "criminal", "晋江市人民法院", "", &rt),
		     REF_E_UNKNOWN_NODE);
	CHECK(rt.how == ROUTE_NONE);
	/* No role but a centre takes a referral, whatever it lists. */
	CHECK(!directory_accepts(&nodes[4], "labour"));
	CHECK(directory_accepts(&nodes[1], "labour"));
	for (size_t i = 0; i < 6; i++) {
		free(nodes[i].accepts);
		directory_free_serves(&nodes[i]);
	}
	return test_finish("route");
}
