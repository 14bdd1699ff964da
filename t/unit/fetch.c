/*
 * Unit tests for fetch.c: how sources are told apart, file:// URLs,
 * sizes, and the once-per-run cache on local files (the HTTP and yt-dlp
 * paths are tested against real servers in t/t1000-fetch.sh).
 */
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "fetch.h"
#include "store.h"
/* tap.h as it stands: a slash-star in a comment, helpers left unused. */
#pragma GCC diagnostic ignored "-Wcomment"
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tap.h"

static int
str_is(char *got, const char *want)
{
	int r;

	if (got == NULL || want == NULL)
		r = got == NULL && want == NULL;
	else
		r = strcmp(got, want) == 0;
	if (!r)
		diag("got %s, want %s", got ? got : "NULL", want ? want : "NULL");
	free(got);
	return r;
}

/* A check that refuses files that begin with "no". */
static int
refuse_no(const char *path, int fd, struct fetch_item *it)
{
	char b[2];

	if (read(fd, b, 2) == 2 && memcmp(b, "no", 2) == 0)
		return pm_fail("begins with no");
	it->w = 7;
	return 0;
}

int
main(void)
{
	char dir[] = "/tmp/pm-unit-fetch.XXXXXX", *path, *url, *bad;
	char sname[STORE_NAMELEN + 1];
	const char *src[4];
	const struct fetch_res *r1, *r2, *res[4];
	char *why[4];
	struct fetch_opt o;
	struct fetcher *f;
	struct store *st;
	void *p;
	size_t n;
	int fd, i;

	pm_init("unit-fetch");
	tap_plan(31);

	ok(fetch_kind("/a/b.jpg") == FETCH_PATH, "absolute path");
	ok(fetch_kind("./a:b.jpg") == FETCH_PATH, "./ path with a colon");
	ok(fetch_kind("a/b.jpg") == FETCH_PATH, "relative path");
	ok(fetch_kind("file:///a") == FETCH_FILE, "file URL");
	ok(fetch_kind("HTTP://x/") == FETCH_HTTP, "HTTP URL, any case");
	ok(fetch_kind("https://x/") == FETCH_HTTP, "https URL");
	ok(fetch_kind("ytsearch5:cats") == FETCH_YTDLP, "search is yt-dlp");
	ok(fetch_kind("rtmp://x/y") == FETCH_YTDLP, "other scheme is yt-dlp");
	ok(fetch_is_search("ytsearch5:cats") && !fetch_is_search("https://x/search"),
	    "searches are told by their scheme");

	ok(str_is(fetch_file_path("file:///a/b%20c.jpg"), "/a/b c.jpg"),
	    "file URL with an escape");
	ok(str_is(fetch_file_path("file://localhost/a#frag"), "/a"),
	    "file URL of localhost, fragment dropped");
	ok(str_is(fetch_file_path("file:/a"), "/a"), "file URL, short form");
	ok(str_is(fetch_file_path("file://elsewhere/a"), NULL),
	    "file URL of another host refused");
	ok(str_is(fetch_file_path("file:///a%00b"), NULL), "NUL escape refused");
	ok(str_is(fetch_file_path("file:///a%zz"), NULL), "bad escape refused");

	ok(fetch_size("10") == 10 && fetch_size("2k") == 2048 &&
	    fetch_size("3M") == 3 << 20 && fetch_size("1G") == 1 << 30,
	    "sizes with suffixes");
	ok(fetch_size("") == -1 && fetch_size("1T") == -1 &&
	    fetch_size("-1") == -1 && fetch_size("k") == -1 &&
	    fetch_size("99999999999G") == -1, "bad sizes refused");

	if (mkdtemp(dir) == NULL)
		pm_err(2, "mkdtemp:");
	path = pm_asprintf("%s/in.txt", dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, "hello\n", 6) != 6 || close(fd) == -1)
		pm_err(2, "%s:", path);
	bad = pm_asprintf("%s/no.txt", dir);
	if ((fd = open(bad, O_WRONLY | O_CREAT | O_TRUNC, 0644)) == -1 ||
	    write(fd, "no!\n", 4) != 4 || close(fd) == -1)
		pm_err(2, "%s:", bad);
	url = pm_asprintf("file://%s", path);
	{
		char *sdir = pm_asprintf("%s/store", dir);

		if ((st = store_open(sdir)) == NULL)
			pm_err(2, "%s", pm_why());
		free(sdir);
	}
	fetch_opt_init(&o);
	if ((f = fetcher_new(&o, st)) == NULL)
		pm_err(2, "%s", pm_why());

	r1 = fetch(f, path, 0, refuse_no);
	ok(r1 != NULL && r1->n == 1 && r1->item[0].w == 7, "local file fetched");
	sha256_hex("hello\n", 6, sname);
	ok(r1 != NULL && strcmp(r1->item[0].blob, sname) == 0,
	    "blob named by its content");
	ok(r1 != NULL && store_get(st, r1->item[0].blob, &p, &n) == 0 &&
	    n == 6 && memcmp(p, "hello\n", 6) == 0, "stored bytes equal");
	if (r1 != NULL && n == 6)
		free(p);
	r2 = fetch(f, path, 0, refuse_no);
	ok(r2 == r1 && fetch_count(f) == 1, "same source fetched once");
	r2 = fetch(f, url, 0, refuse_no);
	ok(r2 != NULL && r2 != r1 && strcmp(r2->item[0].blob, sname) == 0 &&
	    fetch_count(f) == 2, "file URL fetched, same blob");
	ok(fetch(f, bad, 0, refuse_no) == NULL &&
	    strcmp(pm_why(), "begins with no") == 0, "check refuses a file");
	sha256_hex("no!\n", 4, sname);
	ok(store_has(st, sname) == 0, "nothing stored for a refused file");
	ok(fetch(f, bad, 0, refuse_no) == NULL && fetch_count(f) == 3 &&
	    strcmp(pm_why(), "begins with no") == 0,
	    "a failure is remembered, not fetched again");
	ok(fetch(f, "/nonexistent/x", 0, NULL) == NULL &&
	    strstr(pm_why(), "No such file") != NULL, "missing file");
	ok(fetch(f, "", 0, NULL) == NULL, "empty source refused");
	{
		char *fifo = pm_asprintf("%s/fifo", dir);

		ok(mkfifo(fifo, 0600) == 0 && fetch(f, fifo, 0, NULL) == NULL &&
		    strcmp(pm_why(), "not a regular file") == 0,
		    "a FIFO is refused, not waited on");
		free(fifo);
	}

	src[0] = path;
	src[1] = bad;
	src[2] = path;
	src[3] = "/nonexistent/y";
	fetch_many(f, src, 4, 0, refuse_no, res, why);
	ok(res[0] == r1 && res[2] == r1 && why[0] == NULL && why[2] == NULL,
	    "fetch_many: cached results");
	ok(res[1] == NULL && why[1] != NULL &&
	    strcmp(why[1], "begins with no") == 0, "fetch_many: reasons");
	ok(res[3] == NULL && why[3] != NULL, "fetch_many: missing file");
	for (i = 0; i < 4; i++)
		free(why[i]);

	fetcher_free(f);
	store_close(st);
	free(url);
	free(bad);
	free(path);
	{
		char *cmd = pm_asprintf("rm -rf '%s'", dir);

		if (system(cmd) != 0)
			diag("cannot remove %s", dir);
		free(cmd);
	}
	return tap_done();
}
