/*
 * clock.c: times in a video, written for people.
 */
#include <math.h>
#include <stdio.h>

#include "clock.h"

char *
clock_mmss(double t, char *buf, size_t size)
{
	long long cs;
	const char *sign = "";

	if (!isfinite(t)) {
		snprintf(buf, size, "?:??.??");
		return buf;
	}
	if (t < 0) {
		sign = "-";
		t = -t;
	}
	/* round once, to hundredths, so 59.999 becomes 1:00.00 */
	cs = t < 9e15 ? llround(t * 100) : 0;
	if (cs == 0)
		sign = "";
	snprintf(buf, size, "%s%lld:%02lld.%02lld", sign, cs / 6000,
	    cs / 100 % 60, cs % 100);
	return buf;
}
