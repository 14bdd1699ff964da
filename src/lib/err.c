/*
 * err.c: messages, exit status, checked allocation and number parsing.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"

const char *pm_prog = "pm";

static _Thread_local char why[1024];
static pthread_t main_thread;
static int main_known;

void
pm_init(const char *argv0)
{
	const char *p;

	main_thread = pthread_self();
	main_known = 1;
	/*
	 * A file size limit (ulimit -f) then fails a write with EFBIG, which
	 * is reported like a full disk, rather than killing the program.
	 */
	signal(SIGXFSZ, SIG_IGN);
	if (argv0 == NULL || *argv0 == '\0')
		return;
	p = strrchr(argv0, '/');
	pm_prog = p ? p + 1 : argv0;
}

/*
 * A message is one line: control characters that came in with the
 * input (an id with a newline, a terminal escape) are written as C
 * escapes, so that they cannot end the line or forge another one.
 */
static void
escape(char *out, size_t cap, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	unsigned char c;

	for (; (c = (unsigned char)*s) != '\0' && o + 5 < cap; s++) {
		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		switch (c) {
		case '\n': out[o++] = 'n'; break;
		case '\r': out[o++] = 'r'; break;
		case '\t': out[o++] = 't'; break;
		default:
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
}

static void
vmsg(const char *fmt, va_list ap, int saved)
{
	char buf[4096], line[4 * sizeof buf];
	size_t n;
	int r;

	r = vsnprintf(buf, sizeof buf, fmt, ap);
	if (r < 0)
		buf[0] = '\0';
	escape(line, sizeof line, buf);
	n = strlen(line);
	if (n > 0 && line[n - 1] == ':')
		fprintf(stderr, "%s: %s %s\n", pm_prog, line, strerror(saved));
	else
		fprintf(stderr, "%s: %s\n", pm_prog, line);
}

void
pm_err(int status, const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vmsg(fmt, ap, saved);
	va_end(ap);
	/*
	 * Off the main thread, other threads may still be inside OpenCV or
	 * FFmpeg: end without running exit handlers under their feet.
	 */
	if (main_known && !pthread_equal(pthread_self(), main_thread)) {
		fflush(stderr);
		_exit(status);
	}
	exit(status);
}

void
pm_warn(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;

	va_start(ap, fmt);
	vmsg(fmt, ap, saved);
	va_end(ap);
}

int
pm_fail(const char *fmt, ...)
{
	va_list ap;
	int saved = errno;
	size_t n;

	char buf[sizeof why];

	/* Format apart: the arguments may be pm_why() itself. */
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	memcpy(why, buf, sizeof why);
	n = strlen(why);
	if (n > 0 && why[n - 1] == ':')
		snprintf(why + n, sizeof why - n, " %s", strerror(saved));
	errno = saved;
	return -1;
}

const char *
pm_why(void)
{
	return why[0] ? why : "unknown error";
}

static void
oom(void)
{
	pm_err(PM_EXIT_FATAL, "out of memory");
}

void *
pm_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
pm_calloc(size_t nmemb, size_t size)
{
	void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
pm_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (p == NULL)
		oom();
	return p;
}

void *
pm_reallocarray(void *p, size_t nmemb, size_t size)
{
	if (size && nmemb > SIZE_MAX / size)
		oom();
	return pm_realloc(p, nmemb * size);
}

char *
pm_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(pm_malloc(n), s, n);
}

char *
pm_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		oom();
	s = pm_malloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

long long
pm_num(const char *s, long long min, long long max, const char *what)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || *end != '\0')
		pm_err(PM_EXIT_FATAL, "%s: not a number: %s", what, s);
	if (errno == ERANGE || v < min || v > max)
		pm_err(PM_EXIT_FATAL, "%s: %s: out of range %lld..%lld",
		    what, s, min, max);
	return v;
}

double
pm_real(const char *s, double min, double max, const char *what)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end != '\0' || isnan(v))
		pm_err(PM_EXIT_FATAL, "%s: not a number: %s", what, s);
	if (errno == ERANGE || v < min || v > max)
		pm_err(PM_EXIT_FATAL, "%s: %s: out of range %g..%g",
		    what, s, min, max);
	return v;
}
