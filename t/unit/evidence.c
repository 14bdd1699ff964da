/*
 * Unit test of what pm-evidence writes besides pictures: times as
 * m:ss.ss, ids made safe file names, the names of -d, and the checks
 * on match and appearance records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "clock.h"
#include "err.h"
#include "evidence.h"
#include "store.h"
#include "tap.h"

static int
mmss(double t, const char *want)
{
	char buf[32];

	clock_mmss(t, buf, sizeof buf);
	if (strcmp(buf, want) != 0) {
		diag("%g: got %s, want %s", t, buf, want);
		return 0;
	}
	return 1;
}

/* Is the name one path component, without a leading dot or dash, made
 * of the safe bytes and "~"? */
static int
plain(const char *s)
{
	if (*s == '\0' || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		    "0123456789._+-~", *s))
			return 0;
	return 1;
}

static int
safe(const char *id, const char *want)
{
	char *s = evidence_safe_id(id);
	int r = strcmp(s, want) == 0;

	if (!r)
		diag("\"%s\": got %s, want %s", id, s, want);
	free(s);
	return r;
}

static int
rejects(const char *json, const char *why)
{
	struct evidence_req q;
	json_t *j = json_loads(json, 0, NULL);
	int r;

	if (j == NULL) {
		diag("bad test JSON: %s", json);
		return 0;
	}
	r = evidence_req_read(j, &q) == -1 && strcmp(pm_why(), why) == 0;
	if (!r)
		diag("%s: %s", json, pm_why());
	json_decref(j);
	return r;
}

#define BLOB "1094629c1e2ebbc8a9ae2c9c63e18c1dff0f5f1481146e02f3b11a3d30feb20a"
#define BOX "[[1,2],[30,2],[30,40],[1,40]]"

int
main(int argc, char *argv[])
{
	static const char *hostile[] = {
		"", ".", "..", "../../etc/passwd", "a/b", "a\nb", "\"q\"",
		"-rf", ".hidden", "caf\xc3\xa9", "a b", "x~1", "a\\b",
		"0123456789012345678901234567890123456789012345678901234567890"
		"1234567890123456789012345678901234567890",
	};
	char hex[STORE_NAMELEN + 1], want[128], *s, *names[20];
	struct evidence_req q;
	json_t *j;
	size_t i, k;
	int good, distinct;

	pm_init(argv[0]);
	tap_plan(14);

	ok(mmss(0, "0:00.00") && mmss(62.5, "1:02.50") &&
	    mmss(59.999, "1:00.00") && mmss(4500, "75:00.00") &&
	    mmss(-1, "-0:01.00") && mmss(-0.001, "0:00.00") &&
	    mmss(0.005, "0:00.01"), "times as m:ss.ss, rounded once");

	ok(safe("box", "box") && safe("ok-id_1.2+3", "ok-id_1.2+3") &&
	    safe("A9", "A9"), "plain ids are their own names");

	sha256_hex("a/b", 3, hex);
	snprintf(want, sizeof want, "a_b~%.8s", hex);
	ok(safe("a/b", want), "a changed id gains 8 hex digits of its SHA-256");

	sha256_hex("..", 2, hex);
	snprintf(want, sizeof want, "_.~%.8s", hex);
	ok(safe("..", want), "\"..\" cannot name a parent directory");

	good = 1;
	for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
		s = names[i] = evidence_safe_id(hostile[i]);
		if (!plain(s) || strlen(s) > 80) {
			diag("\"%s\" -> \"%s\"", hostile[i], s);
			good = 0;
		}
	}
	ok(good, "hostile ids become one plain path component");

	distinct = 1;
	for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
		for (k = 0; k < i; k++)
			if (strcmp(names[i], names[k]) == 0)
				distinct = 0;
	ok(distinct, "distinct ids, distinct names");
	for (i = 0; i < sizeof hostile / sizeof hostile[0]; i++)
		free(names[i]);

	s = evidence_safe_id("a_b");
	ok(strcmp(s, "a_b") == 0, "an id that looks sanitised keeps no hash");
	free(s);

	j = json_loads("{\"type\":\"match\",\"video\":\"v/1\",\"t\":12.5,"
	    "\"frame\":\"" BLOB "\",\"product\":\"box\",\"image\":\"" BLOB
	    "\",\"score\":0.75,\"inliers\":80,\"box\":" BOX "}", 0, NULL);
	ok(j != NULL && evidence_req_read(j, &q) == 0 && !q.appearance &&
	    q.t == 12.5 && q.inliers == 80 && q.box[4] == 30 &&
	    q.box[7] == 40, "a match record is read");
	s = evidence_name(&q);
	sha256_hex("v/1", 3, hex);
	snprintf(want, sizeof want, "v_1~%.8s/box@12.500.jpg", hex);
	ok(strcmp(s, want) == 0, "its name: %s", s);
	free(s);
	json_decref(j);

	j = json_loads("{\"type\":\"appearance\",\"video\":\"v\",\"product\":"
	    "\"box\",\"start\":10,\"end\":17.25,\"score\":0.5,\"best\":{\"t\":"
	    "12,\"frame\":\"" BLOB "\",\"image\":\"" BLOB "\",\"box\":" BOX
	    "}}", 0, NULL);
	ok(j != NULL && evidence_req_read(j, &q) == 0 && q.appearance &&
	    q.t == 12 && q.start == 10 && q.end == 17.25 && q.inliers == -1,
	    "an appearance record is read from its best match");
	s = evidence_name(&q);
	ok(strcmp(s, "v/box@10.000-17.250.jpg") == 0, "its name: %s", s);
	free(s);
	json_decref(j);

	ok(rejects("{\"type\":\"match\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"t\":1,\"frame\":\"" BLOB "\",\"image\":\"" BLOB
	    "\",\"box\":[[1,2],[3,4],[5,6],[7]]}", "box is not 4 [x, y] points") &&
	    rejects("{\"type\":\"match\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"t\":1,\"frame\":\"x\",\"image\":\"" BLOB
	    "\",\"box\":" BOX "}", "frame is not a blob name") &&
	    rejects("{\"type\":\"match\",\"video\":1,\"product\":\"p\"}",
	    "video is not a string") &&
	    rejects("{\"type\":\"match\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":-0.1}", "score -0.1 is not within 0..1"),
	    "bad matches are refused with the reason");
	ok(rejects("{\"type\":\"appearance\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"start\":3,\"end\":2}", "end 2 before start 3") &&
	    rejects("{\"type\":\"appearance\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"start\":1,\"end\":2,\"best\":[]}",
	    "best is not an object") &&
	    rejects("{\"type\":\"appearance\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"start\":1,\"end\":2,\"best\":{\"t\":1,\"frame\":\""
	    BLOB "\",\"image\":\"" BLOB "\"}}", "best: no box"),
	    "bad appearances are refused with the reason");
	ok(rejects("{\"type\":\"match\",\"video\":\"v\",\"product\":\"p\","
	    "\"score\":0.5,\"t\":1,\"frame\":\"" BLOB "\",\"image\":\"" BLOB
	    "\",\"box\":" BOX ",\"H\":[1,2,3,4,5,6,7,8,\"9\"]}",
	    "H is not 9 numbers"), "a malformed H is refused");
	return tap_done();
}
