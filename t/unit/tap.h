/*
 * tap.h: TAP output for the C unit tests, run by prove beside t/*.sh.
 */
#ifndef PM_TAP_H
#define PM_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int tap_n, tap_failed;

static void
tap_plan(int n)
{
	printf("1..%d\n", n);
	fflush(stdout);
}

/* ok(cond, "title"): one test point. */
static int
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

static void
skip(const char *why)
{
	printf("ok %d # skip %s\n", ++tap_n, why);
	fflush(stdout);
}

static void
diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static int
tap_done(void)
{
	return tap_failed ? 1 : 0;
}

#endif
