/*
 * fetch.c: bring sources (paths, file://, http(s):// and yt-dlp URLs)
 * into the blob store, once per source per run.
 */
/* pipe2, mkostemp and SOCK_CLOEXEC keep descriptors out of children. */
#define _GNU_SOURCE

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "err.h"
#include "fetch.h"
#include "store.h"

extern char **environ;

enum { ST_RUNNING, ST_DONE, ST_FAILED };

/* A cache entry: one (source, check) and its outcome. */
struct entry {
	struct entry	*next;
	char		*src;
	fetch_check	 check;
	int		 flags;
	uint64_t	 hash;
	int		 state;
	struct fetch_res res;
	char		*why;
};

struct fetcher {
	struct fetch_opt opt;
	struct store	*st;
	char		*tmpdir;
	CURLSH		*share;
	pthread_mutex_t	 share_lock[CURL_LOCK_DATA_LAST];
	pthread_mutex_t	 lock;		/* the cache */
	pthread_cond_t	 done;		/* an entry left ST_RUNNING */
	struct entry	**tab;
	size_t		 ntab, nent;
	unsigned long	 nfetch;
};

void
fetch_opt_init(struct fetch_opt *o)
{
	memset(o, 0, sizeof *o);
	o->connect = 10;
	o->timeout = 600;
	o->max_size = 1LL << 30;
	o->retries = 3;
	o->backoff = 0.5;
	o->backoff_max = 30;
	o->redirs = 10;
	o->parallel = 4;
	o->ytdlp = NULL;
}

long long
fetch_size(const char *s)
{
	char *end;
	long long v, m = 1;

	if (!isdigit((unsigned char)s[0]))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		return -1;
	switch (*end) {
	case 'g': case 'G':
		m <<= 10;
		/* FALLTHROUGH */
	case 'm': case 'M':
		m <<= 10;
		/* FALLTHROUGH */
	case 'k': case 'K':
		m <<= 10;
		end++;
		break;
	}
	if (*end != '\0' || v > LLONG_MAX / m)
		return -1;
	return v * m;
}

/* Sources */

static size_t
scheme_len(const char *s)
{
	size_t i;

	if (!isalpha((unsigned char)s[0]))
		return 0;
	for (i = 1; isalnum((unsigned char)s[i]) || s[i] == '+' ||
	    s[i] == '-' || s[i] == '.'; i++)
		continue;
	return s[i] == ':' ? i : 0;
}

enum fetch_kind
fetch_kind(const char *src)
{
	size_t n;

	if (src[0] == '/' || src[0] == '.')
		return FETCH_PATH;
	n = scheme_len(src);
	if (n == 0)
		return FETCH_PATH;
	if (n == 4 && strncasecmp(src, "file", 4) == 0)
		return FETCH_FILE;
	if ((n == 4 && strncasecmp(src, "http", 4) == 0) ||
	    (n == 5 && strncasecmp(src, "https", 5) == 0))
		return FETCH_HTTP;
	return FETCH_YTDLP;
}

int
fetch_is_search(const char *src)
{
	size_t i, n = scheme_len(src);

	for (i = 0; i + 6 <= n; i++)
		if (strncasecmp(src + i, "search", 6) == 0)
			return 1;
	return 0;
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

char *
fetch_file_path(const char *url)
{
	const char *p, *end;
	char *path, *q;
	int hi, lo;

	if (fetch_kind(url) != FETCH_FILE)
		return NULL;
	p = url + 5;
	if (p[0] == '/' && p[1] == '/') {
		/* An authority: only this host may be named. */
		p += 2;
		end = strchr(p, '/');
		if (end == NULL)
			return NULL;
		if (end != p && !((size_t)(end - p) == 9 &&
		    strncasecmp(p, "localhost", 9) == 0))
			return NULL;
		p = end;
	}
	if (p[0] != '/')
		return NULL;
	end = p + strcspn(p, "?#");
	path = q = pm_malloc((size_t)(end - p) + 1);
	for (; p < end; p++) {
		if (*p != '%') {
			*q++ = *p;
			continue;
		}
		if ((hi = hexval(p[1])) < 0 || (lo = hexval(p[2])) < 0 ||
		    (hi == 0 && lo == 0)) {
			free(path);
			return NULL;
		}
		*q++ = (char)(hi << 4 | lo);
		p += 2;
	}
	*q = '\0';
	return path;
}

/* Timing */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
nap(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		continue;
}

/*
 * A number in [0, 1) for jitter.  It only spreads retries in time (so
 * that many clients do not retry in step); no output depends on it.
 */
static double
jitter(void)
{
	static _Thread_local uint64_t x;
	struct timespec ts;

	if (x == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 32) ^
		    (uint64_t)(uintptr_t)&x ^ (uint64_t)getpid() << 16;
		x |= 1;
	}
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (double)(x >> 11) / 9007199254740992.0;
}

/*
 * The wait before try number try + 1: the backoff doubled for each try
 * so far, capped, with "equal jitter" (half fixed, half random); a
 * server's Retry-After is honoured up to the cap.
 */
static double
backoff(const struct fetch_opt *o, int try, double retry_after)
{
	double d = o->backoff;
	int i;

	for (i = 1; i < try && d < o->backoff_max; i++)
		d *= 2;
	if (d > o->backoff_max)
		d = o->backoff_max;
	d = d / 2 + d / 2 * jitter();
	if (retry_after > d)
		d = retry_after < o->backoff_max ? retry_after : o->backoff_max;
	return d;
}

/* Files */

static int
tmpfile_new(struct fetcher *f, char **path)
{
	int fd;

	*path = pm_asprintf("%s/pm-fetch.XXXXXX", f->tmpdir);
	if ((fd = mkostemp(*path, O_CLOEXEC)) == -1) {
		pm_fail("cannot create a file in %s:", f->tmpdir);
		free(*path);
		*path = NULL;
	}
	return fd;
}

/* Check the file at path (open on fd) and store it. */
static int
keep(struct fetcher *f, const char *path, int fd, fetch_check check,
    struct fetch_item *it)
{
	struct stat sb;

	if (fstat(fd, &sb) == -1)
		return pm_fail("%s:", path);
	if (!S_ISREG(sb.st_mode))
		return pm_fail("not a regular file");
	if (f->opt.max_size > 0 && sb.st_size > f->opt.max_size)
		return pm_fail("larger than the size limit (%lld > %lld bytes)",
		    (long long)sb.st_size, f->opt.max_size);
	if (lseek(fd, 0, SEEK_SET) == -1)
		return pm_fail("%s:", path);
	if (check != NULL && check(path, fd, it) == -1)
		return -1;
	if (lseek(fd, 0, SEEK_SET) == -1)
		return pm_fail("%s:", path);
	return store_put_fd(f->st, fd, it->blob);
}

static int
fetch_local(struct fetcher *f, const char *path, fetch_check check,
    struct fetch_res *res)
{
	int fd, r;

	/* O_NONBLOCK: a FIFO must be refused, not waited on. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return pm_fail("%s:", path);
	res->item = pm_calloc(1, sizeof *res->item);
	res->n = 1;
	r = keep(f, path, fd, check, &res->item[0]);
	close(fd);
	return r;
}

/* HTTP */

struct xfer {
	CURL		*h;
	int		 fd;
	long long	 n;		/* bytes written */
	long long	 max;
	int		 too_big;
	int		 werr;		/* errno of a failed write */
	int		 pages;		/* FETCH_PAGES */
	int		 page;		/* the answer is a web page */
	int		 started;	/* data came */
};

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct xfer *x = arg;
	size_t n = size * nmemb, off;
	ssize_t w;
	char *ct = NULL;

	if (!x->started) {
		x->started = 1;
		if (x->pages && curl_easy_getinfo(x->h, CURLINFO_CONTENT_TYPE,
		    &ct) == CURLE_OK && ct != NULL &&
		    (strncasecmp(ct, "text/html", 9) == 0 ||
		    strncasecmp(ct, "application/xhtml", 17) == 0)) {
			x->page = 1;
			return 0;
		}
	}
	if (x->max > 0 && x->n + (long long)n > x->max) {
		x->too_big = 1;
		return 0;
	}
	for (off = 0; off < n; off += (size_t)w) {
		w = write(x->fd, p + off, n - off);
		if (w == -1 && errno == EINTR) {
			w = 0;
			continue;
		}
		if (w == -1) {
			x->werr = errno;
			return 0;
		}
	}
	x->n += (long long)n;
	return n;
}

/* Sockets must not leak into yt-dlp processes other threads start. */
static curl_socket_t
on_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

static void
share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *arg)
{
	struct fetcher *f = arg;

	pthread_mutex_lock(&f->share_lock[data]);
}

static void
share_unlock(CURL *h, curl_lock_data data, void *arg)
{
	struct fetcher *f = arg;

	pthread_mutex_unlock(&f->share_lock[data]);
}

enum { TRY_OK, TRY_AGAIN, TRY_FAIL, TRY_PAGE };

/*
 * One try of a GET into x->fd.  Returns TRY_OK, or TRY_AGAIN or
 * TRY_FAIL with the reason in why and a server's Retry-After in *ra.
 */
static int
http_try(struct fetcher *f, const char *url, struct xfer *x, char *why,
    size_t whylen, double *ra)
{
	char errbuf[CURL_ERROR_SIZE];
	curl_off_t clen, after;
	CURLcode rc;
	long code = 0;
	char *eff = NULL;

	x->n = 0;
	x->too_big = x->werr = x->page = x->started = 0;
	*ra = 0;
	errbuf[0] = '\0';
	if (ftruncate(x->fd, 0) == -1 || lseek(x->fd, 0, SEEK_SET) == -1) {
		snprintf(why, whylen, "temporary file: %s", strerror(errno));
		return TRY_FAIL;
	}
	curl_easy_setopt(x->h, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(x->h);
	curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(x->h, CURLINFO_EFFECTIVE_URL, &eff);
	if (curl_easy_getinfo(x->h, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
	    after > 0)
		*ra = (double)after;
	if (x->page)
		return TRY_PAGE;
	if (x->too_big) {
		snprintf(why, whylen, "larger than the size limit (%lld bytes)",
		    x->max);
		return TRY_FAIL;
	}
	if (x->werr) {
		snprintf(why, whylen, "temporary file: %s", strerror(x->werr));
		return TRY_FAIL;
	}
	if (rc == CURLE_HTTP_RETURNED_ERROR || (rc == CURLE_OK &&
	    (code < 200 || code > 299))) {
		if (eff != NULL && strcmp(eff, url) != 0)
			snprintf(why, whylen, "HTTP %ld from %s", code, eff);
		else
			snprintf(why, whylen, "HTTP %ld", code);
		/* Timeouts and server errors pass; other answers stay. */
		if (code == 408 || code == 429 || code >= 500)
			return TRY_AGAIN;
		return TRY_FAIL;
	}
	if (rc == CURLE_OK) {
		/* A body shorter than announced, which libcurl let pass. */
		if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &clen) == CURLE_OK && clen >= 0 && clen != x->n) {
			snprintf(why, whylen, "body cut short (%lld of %lld "
			    "bytes)", x->n, (long long)clen);
			return TRY_AGAIN;
		}
		return TRY_OK;
	}
	switch (rc) {
	case CURLE_PARTIAL_FILE:
		if (curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
		    &clen) == CURLE_OK && clen >= 0)
			snprintf(why, whylen, "body cut short (%lld of %lld "
			    "bytes)", x->n, (long long)clen);
		else
			snprintf(why, whylen, "body cut short (%lld bytes): "
			    "%s", x->n, errbuf[0] ? errbuf :
			    curl_easy_strerror(rc));
		return TRY_AGAIN;
	case CURLE_FILESIZE_EXCEEDED:
		snprintf(why, whylen, "larger than the size limit (%lld bytes)",
		    x->max);
		return TRY_FAIL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_WEIRD_SERVER_REPLY:
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(rc));
		return TRY_AGAIN;
	default:
		snprintf(why, whylen, "%s", errbuf[0] ? errbuf :
		    curl_easy_strerror(rc));
		return TRY_FAIL;
	}
}

static CURL *
http_handle(struct fetcher *f, const char *url, struct xfer *x)
{
	CURL *h;

	if ((h = curl_easy_init()) == NULL)
		return NULL;
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_SHARE, f->share);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)f->opt.redirs);
	curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "pm-fetch/1 libcurl");
	if (f->opt.connect > 0)
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
		    (long)(f->opt.connect * 1000));
	if (f->opt.timeout > 0)
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS,
		    (long)(f->opt.timeout * 1000));
	if (f->opt.max_size > 0)
		curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE,
		    (curl_off_t)f->opt.max_size);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
	curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_socket);
	return h;
}

/*
 * GET url into fd, trying again on transient failures.  Returns 0, 1
 * for a web page when flags has FETCH_PAGES, or -1.
 */
static int
http_get(struct fetcher *f, const char *url, int flags, int fd)
{
	struct xfer x;
	char why[CURL_ERROR_SIZE + 512];
	double ra, d;
	int try, tries = f->opt.retries + 1, r;

	memset(&x, 0, sizeof x);
	x.fd = fd;
	x.max = f->opt.max_size;
	x.pages = flags & FETCH_PAGES;
	if ((x.h = http_handle(f, url, &x)) == NULL)
		return pm_fail("cannot start libcurl");
	for (try = 1;; try++) {
		r = http_try(f, url, &x, why, sizeof why, &ra);
		if (r == TRY_OK || r == TRY_PAGE)
			break;
		if (r == TRY_FAIL || try == tries) {
			curl_easy_cleanup(x.h);
			if (try > 1)
				return pm_fail("%s (%d tries)", why, try);
			return pm_fail("%s", why);
		}
		d = backoff(&f->opt, try, ra);
		pm_warn("%s: %s (try %d of %d), again in %.2f s", url, why,
		    try, tries, d);
		nap(d);
	}
	curl_easy_cleanup(x.h);
	return r == TRY_PAGE;
}

static int fetch_ytdlp(struct fetcher *, const char *, fetch_check,
    struct fetch_res *);

static int
fetch_http(struct fetcher *f, const char *url, int flags, fetch_check check,
    struct fetch_res *res)
{
	char *path;
	int fd, r;

	if ((fd = tmpfile_new(f, &path)) == -1)
		return -1;
	r = http_get(f, url, flags, fd);
	if (r == 0) {
		res->item = pm_calloc(1, sizeof *res->item);
		res->n = 1;
		r = keep(f, path, fd, check, &res->item[0]);
	}
	close(fd);
	unlink(path);
	free(path);
	if (r == 1)
		r = fetch_ytdlp(f, url, check, res);
	return r;
}

/* yt-dlp */

static int
rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void
rm_tree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Append n bytes to a growing buffer, keeping at most max (the tail). */
static void
grow(char **buf, size_t *len, const char *p, size_t n, size_t max)
{
	*buf = pm_realloc(*buf, *len + n + 1);
	memcpy(*buf + *len, p, n);
	*len += n;
	if (*len > max) {
		memmove(*buf, *buf + *len - max, max);
		*len = max;
	}
	(*buf)[*len] = '\0';
}

/*
 * Run argv with no stdin, capturing stdout and stderr, killing its
 * process group after deadline seconds (0: never).  Returns the wait
 * status, or -1 when it could not run.
 */
static int
run(char *const argv[], double deadline, char **out, size_t *outlen,
    char **err, size_t *errlen, int *killed)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct pollfd pfd[2];
	sigset_t none, def;
	pid_t pid;
	int po[2], pe[2], status, e, nopen, ms;
	double end = deadline > 0 ? now() + deadline : 0;
	char buf[8192];
	ssize_t n;

	*out = *err = NULL;
	*outlen = *errlen = 0;
	*killed = 0;
	if (pipe2(po, O_CLOEXEC) == -1)
		return pm_fail("pipe:");
	if (pipe2(pe, O_CLOEXEC) == -1) {
		e = errno;
		close(po[0]);
		close(po[1]);
		errno = e;
		return pm_fail("pipe:");
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGXFSZ);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	e = posix_spawnp(&pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(po[1]);
	close(pe[1]);
	if (e != 0) {
		close(po[0]);
		close(pe[0]);
		errno = e;
		return pm_fail("cannot run %s:", argv[0]);
	}
	pfd[0].fd = po[0];
	pfd[1].fd = pe[0];
	pfd[0].events = pfd[1].events = POLLIN;
	for (nopen = 2; nopen > 0;) {
		ms = -1;
		if (end > 0) {
			if (now() >= end) {
				kill(-pid, SIGKILL);
				*killed = 1;
				break;
			}
			ms = (int)((end - now()) * 1000) + 1;
		}
		if (poll(pfd, 2, ms) == -1) {
			if (errno == EINTR)
				continue;
			kill(-pid, SIGKILL);
			*killed = 1;
			break;
		}
		for (int i = 0; i < 2; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			n = read(pfd[i].fd, buf, sizeof buf);
			if (n == -1 && errno == EINTR)
				continue;
			if (n <= 0) {
				close(pfd[i].fd);
				pfd[i].fd = -1;
				nopen--;
			} else if (i == 0)
				grow(out, outlen, buf, (size_t)n, 16 << 20);
			else
				grow(err, errlen, buf, (size_t)n, 16 << 10);
		}
	}
	for (int i = 0; i < 2; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return pm_fail("waitpid:");
	return status;
}

/*
 * The last "ERROR:" line of yt-dlp's stderr (as "yt-dlp: ..."), else its
 * last line.
 */
static char *
last_error(const char *err)
{
	const char *p, *line = NULL, *last = NULL;
	size_t n;

	if (err == NULL)
		return pm_strdup("no message");
	for (p = err; *p != '\0'; p += n + (p[n] == '\n')) {
		n = strcspn(p, "\n");
		if (n == 0)
			continue;
		last = p;
		if (strncmp(p, "ERROR:", 6) == 0)
			line = p;
	}
	if (line == NULL)
		line = last;
	if (line == NULL)
		return pm_strdup("no message");
	n = strcspn(line, "\n");
	if (strncmp(line, "ERROR: ", 7) == 0)
		return pm_asprintf("yt-dlp: %.*s", (int)n - 7, line + 7);
	return pm_asprintf("yt-dlp: %.*s", (int)n, line);
}

/* Search count: 5 in "ytsearch5:", 1 when not given. */
static int
search_count(const char *src)
{
	size_t i, n = scheme_len(src);
	long v;

	if (n == 0)
		return 1;
	i = n;
	while (i > 0 && isdigit((unsigned char)src[i - 1]))
		i--;
	if (i == n)
		return 1;
	v = strtol(src + i, NULL, 10);
	return v < 1 ? 1 : v > 1000 ? 1000 : (int)v;
}

static void
item_free(struct fetch_item *it)
{
	free(it->id);
	free(it->title);
	free(it->url);
}

static char *
jstrdup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s != NULL ? pm_strdup(s) : NULL;
}

/*
 * Keep one file yt-dlp printed: line is its JSON.  Returns 0, or -1
 * with the reason.
 */
static int
ytdlp_keep(struct fetcher *f, const char *dir, const char *line,
    fetch_check check, struct fetch_item *it)
{
	json_error_t je;
	json_t *o;
	const char *path;
	size_t dl = strlen(dir);
	int fd, r;

	if ((o = json_loads(line, 0, &je)) == NULL || !json_is_object(o)) {
		json_decref(o);
		return pm_fail("yt-dlp printed an unexpected line: %.80s",
		    line);
	}
	it->id = jstrdup(o, "id");
	it->title = jstrdup(o, "title");
	it->url = jstrdup(o, "webpage_url");
	path = json_string_value(json_object_get(o, "filepath"));
	if (it->id == NULL || path == NULL) {
		json_decref(o);
		return pm_fail("yt-dlp gave no file or no id: %.80s", line);
	}
	/* Only files in our own directory are taken (and removed). */
	if (strncmp(path, dir, dl) != 0 || path[dl] != '/' ||
	    strstr(path, "/../") != NULL) {
		r = pm_fail("%s: yt-dlp wrote outside %s", it->id, dir);
		json_decref(o);
		return r;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		r = pm_fail("%s: %s:", it->id, path);
		json_decref(o);
		return r;
	}
	r = keep(f, path, fd, check, it);
	close(fd);
	if (r == -1) {
		/* pm_why() is the buffer pm_fail() writes. */
		char *why = pm_strdup(pm_why());

		r = pm_fail("%s: %s", it->id, why);
		free(why);
	}
	json_decref(o);
	return r;
}

static int
fetch_ytdlp(struct fetcher *f, const char *src, fetch_check check,
    struct fetch_res *res)
{
	char *argv[32], *dir, *out, *err, *why = NULL, *sock, *tries, *size;
	char *paths, *msg;
	const char *p;
	size_t outlen, errlen, n, nv;
	double deadline;
	int argc = 0, status, killed, r = -1;

	dir = pm_asprintf("%s/pm-fetch.XXXXXX", f->tmpdir);
	if (mkdtemp(dir) == NULL) {
		r = pm_fail("cannot create a directory in %s:", f->tmpdir);
		free(dir);
		return r;
	}
	res->search = fetch_is_search(src);
	sock = pm_asprintf("%g", f->opt.connect > 0 ? f->opt.connect : 20);
	tries = pm_asprintf("%d", f->opt.retries);
	size = pm_asprintf("%lld", f->opt.max_size);
	paths = pm_asprintf("home:%s", dir);
	argv[argc++] = (char *)(f->opt.ytdlp ? f->opt.ytdlp : "yt-dlp");
	argv[argc++] = "--no-progress";
	argv[argc++] = "--no-mtime";
	argv[argc++] = "--paths";
	argv[argc++] = paths;
	argv[argc++] = "--output";
	argv[argc++] = "%(id)s.%(ext)s";
	argv[argc++] = "--print";
	argv[argc++] = "after_move:%(.{id,title,webpage_url,filepath})j";
	argv[argc++] = "--socket-timeout";
	argv[argc++] = sock;
	argv[argc++] = "--retries";
	argv[argc++] = tries;
	if (f->opt.max_size > 0) {
		argv[argc++] = "--max-filesize";
		argv[argc++] = size;
	}
	if (!res->search)
		argv[argc++] = "--no-playlist";
	argv[argc++] = "--";
	argv[argc++] = (char *)src;
	argv[argc] = NULL;

	nv = res->search ? (size_t)search_count(src) : 1;
	deadline = f->opt.timeout * (f->opt.retries + 1) * (double)nv;
	status = run(argv, deadline, &out, &outlen, &err, &errlen, &killed);
	if (status == -1) {
		if (errno == ENOENT && fetch_kind(src) == FETCH_HTTP)
			pm_fail("a web page, not a video file; %s, which finds "
			    "videos in pages, is not installed (Debian package "
			    "yt-dlp)", argv[0]);
		else if (errno == ENOENT)
			pm_fail("%s is not installed: it fetches such sources "
			    "(Debian package yt-dlp)", argv[0]);
		goto done;
	}

	/* One JSON line per video it kept. */
	for (p = out ? out : ""; *p != '\0'; p += n + (p[n] == '\n')) {
		n = strcspn(p, "\n");
		if (n == 0)
			continue;
		res->item = pm_reallocarray(res->item, res->n + 1,
		    sizeof *res->item);
		memset(&res->item[res->n], 0, sizeof *res->item);
		msg = pm_asprintf("%.*s", (int)n, p);
		if (ytdlp_keep(f, dir, msg, check, &res->item[res->n]) == 0)
			res->n++;
		else {
			item_free(&res->item[res->n]);
			free(why);
			why = pm_strdup(pm_why());
		}
		free(msg);
	}
	if (killed)
		msg = pm_asprintf("yt-dlp took more than %g s and was "
		    "stopped", deadline);
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		msg = last_error(err);
	else
		msg = NULL;
	if (msg != NULL) {
		free(why);
		why = msg;
	}
	if (res->n == 0) {
		r = pm_fail("%s", why ? why : "yt-dlp fetched no video");
		goto done;
	}
	res->warn = why;
	why = NULL;
	r = 0;
done:
	free(why);
	free(out);
	free(err);
	free(sock);
	free(tries);
	free(size);
	free(paths);
	rm_tree(dir);
	free(dir);
	return r;
}

/* The cache */

static uint64_t
hash(const char *s, int flags, fetch_check check)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ^ (uint64_t)(uintptr_t)check ^ (uint64_t)flags << 56;
}

static void
rehash(struct fetcher *f)
{
	struct entry **tab, *e, *next;
	size_t i, n = f->ntab ? f->ntab * 2 : 256;

	tab = pm_calloc(n, sizeof *tab);
	for (i = 0; i < f->ntab; i++)
		for (e = f->tab[i]; e != NULL; e = next) {
			next = e->next;
			e->next = tab[e->hash % n];
			tab[e->hash % n] = e;
		}
	free(f->tab);
	f->tab = tab;
	f->ntab = n;
}

static int
fetch_src(struct fetcher *f, const char *src, int flags, fetch_check check,
    struct fetch_res *res)
{
	char *path;
	int r;

	if (src[0] == '\0')
		return pm_fail("empty source");
	switch (fetch_kind(src)) {
	case FETCH_PATH:
		return fetch_local(f, src, check, res);
	case FETCH_FILE:
		if ((path = fetch_file_path(src)) == NULL)
			return pm_fail("not a file URL of this host");
		r = fetch_local(f, path, check, res);
		free(path);
		return r;
	case FETCH_HTTP:
		return fetch_http(f, src, flags, check, res);
	case FETCH_YTDLP:
		return fetch_ytdlp(f, src, check, res);
	}
	return pm_fail("unknown source kind");
}

static void
res_clear(struct fetch_res *res)
{
	size_t i;

	for (i = 0; i < res->n; i++)
		item_free(&res->item[i]);
	free(res->item);
	free(res->warn);
	memset(res, 0, sizeof *res);
}

const struct fetch_res *
fetch(struct fetcher *f, const char *src, int flags, fetch_check check)
{
	struct entry *e;
	uint64_t h = hash(src, flags, check);
	int r;

	pthread_mutex_lock(&f->lock);
	if (f->ntab > 0)
		for (e = f->tab[h % f->ntab]; e != NULL; e = e->next)
			if (e->hash == h && e->check == check &&
			    e->flags == flags && strcmp(e->src, src) == 0)
				break;
	if (f->ntab > 0 && e != NULL) {
		while (e->state == ST_RUNNING)
			pthread_cond_wait(&f->done, &f->lock);
		pthread_mutex_unlock(&f->lock);
		if (e->state == ST_FAILED) {
			pm_fail("%s", e->why);
			return NULL;
		}
		return &e->res;
	}
	if (f->nent >= f->ntab)
		rehash(f);
	e = pm_calloc(1, sizeof *e);
	e->src = pm_strdup(src);
	e->check = check;
	e->flags = flags;
	e->hash = h;
	e->state = ST_RUNNING;
	e->next = f->tab[h % f->ntab];
	f->tab[h % f->ntab] = e;
	f->nent++;
	f->nfetch++;
	pthread_mutex_unlock(&f->lock);

	r = fetch_src(f, src, flags, check, &e->res);

	pthread_mutex_lock(&f->lock);
	if (r == -1) {
		res_clear(&e->res);
		e->why = pm_strdup(pm_why());
		e->state = ST_FAILED;
	} else
		e->state = ST_DONE;
	pthread_cond_broadcast(&f->done);
	pthread_mutex_unlock(&f->lock);
	return r == -1 ? NULL : &e->res;
}

struct many {
	struct fetcher	*f;
	const char *const *src;
	size_t		 n, next;
	int		 flags;
	fetch_check	 check;
	const struct fetch_res **res;
	char		**why;
	pthread_mutex_t	 lock;
};

static void *
many_run(void *arg)
{
	struct many *m = arg;
	size_t i;

	for (;;) {
		pthread_mutex_lock(&m->lock);
		i = m->next++;
		pthread_mutex_unlock(&m->lock);
		if (i >= m->n)
			break;
		m->res[i] = fetch(m->f, m->src[i], m->flags, m->check);
		m->why[i] = m->res[i] ? NULL : pm_strdup(pm_why());
	}
	return NULL;
}

void
fetch_many(struct fetcher *f, const char *const *src, size_t n, int flags,
    fetch_check check, const struct fetch_res **res, char **why)
{
	struct many m;
	pthread_t *t;
	size_t i, nt = 0, want;

	memset(&m, 0, sizeof m);
	m.f = f;
	m.src = src;
	m.n = n;
	m.flags = flags;
	m.check = check;
	m.res = res;
	m.why = why;
	pthread_mutex_init(&m.lock, NULL);
	want = f->opt.parallel > 1 ? (size_t)f->opt.parallel : 1;
	if (want > n)
		want = n;
	t = pm_calloc(want ? want : 1, sizeof *t);
	/* This thread is one of the workers. */
	for (i = 1; i < want; i++)
		if (pthread_create(&t[nt], NULL, many_run, &m) == 0)
			nt++;
	many_run(&m);
	for (i = 0; i < nt; i++)
		pthread_join(t[i], NULL);
	free(t);
	pthread_mutex_destroy(&m.lock);
}

unsigned long
fetch_count(struct fetcher *f)
{
	unsigned long n;

	pthread_mutex_lock(&f->lock);
	n = f->nfetch;
	pthread_mutex_unlock(&f->lock);
	return n;
}

static CURLcode curl_init_rc;

static void
curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct fetcher *
fetcher_new(const struct fetch_opt *o, struct store *st)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	struct fetcher *f;
	const char *t;
	int i;

	pthread_once(&once, curl_init);
	if (curl_init_rc != CURLE_OK) {
		pm_fail("cannot start libcurl: %s",
		    curl_easy_strerror(curl_init_rc));
		return NULL;
	}
	f = pm_calloc(1, sizeof *f);
	f->opt = *o;
	f->st = st;
	t = getenv("TMPDIR");
	f->tmpdir = pm_strdup(t != NULL && *t != '\0' ? t : "/tmp");
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->done, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&f->share_lock[i], NULL);
	if ((f->share = curl_share_init()) == NULL) {
		fetcher_free(f);
		pm_fail("cannot start libcurl");
		return NULL;
	}
	curl_share_setopt(f->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(f->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(f->share, CURLSHOPT_USERDATA, f);
	curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(f->share, CURLSHOPT_SHARE,
	    CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	return f;
}

void
fetcher_free(struct fetcher *f)
{
	struct entry *e, *next;
	size_t i;
	int j;

	if (f == NULL)
		return;
	for (i = 0; i < f->ntab; i++)
		for (e = f->tab[i]; e != NULL; e = next) {
			next = e->next;
			res_clear(&e->res);
			free(e->src);
			free(e->why);
			free(e);
		}
	free(f->tab);
	if (f->share != NULL)
		curl_share_cleanup(f->share);
	for (j = 0; j < CURL_LOCK_DATA_LAST; j++)
		pthread_mutex_destroy(&f->share_lock[j]);
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->done);
	free(f->tmpdir);
	free(f);
}
