/*
 * clock.h: times in a video, written for people.
 */
#ifndef PM_CLOCK_H
#define PM_CLOCK_H

#include <stddef.h>

/*
 * Write t seconds as m:ss.ss ("1:02.50"; "-0:01.00" before zero;
 * minutes past 59 stay minutes: "75:00.00") into buf.  Returns buf.
 */
char	*clock_mmss(double t, char *buf, size_t size);

#endif
