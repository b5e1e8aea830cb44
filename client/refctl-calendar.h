/* refctl-calendar.h: refctl calendar due --from YYYY-MM-DD --days N: the
 * due day of a period, asked of the node (the "calendar-due" operation),
 * so the answer uses the holiday calendar the node's own clocks count
 * with. Returns refctl's exit status. */
#ifndef REF_REFCTL_CALENDAR_H
#define REF_REFCTL_CALENDAR_H

int refctl_calendar(int argc, char **argv);

#endif
