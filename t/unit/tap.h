/*
 * tap.h: TAP output for the C unit tests, run by prove beside the t/ scripts.
 */
#ifndef PM_TAP_H
#define PM_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

#define TAP_UNUSED __attribute__((unused))

static TAP_UNUSED void
tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

/* ok(cond, "title"): one test point. */
static TAP_UNUSED int
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%sok %d - ", cond ? "" : "not ", ++tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (!cond)
		tap_failed++;
	return cond;
}

static TAP_UNUSED void
skip(const char *why)
{
	printf("ok %d # skip %s\n", ++tap_n, why);
	fflush(stdout);
}

static TAP_UNUSED void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static TAP_UNUSED int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
