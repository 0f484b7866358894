/* date.h: RFC 5322 dates (section 3.3) and the obsolete forms of section
 * 4.3 that mail still carries: two- and three-digit years, missing
 * seconds, a missing day of week, obsolete zone names (UT, GMT, EST, EDT,
 * CST, CDT, MST, MDT, PST, PDT, military letters), comments and odd
 * white space.  For SENTBEFORE/SENTON/SENTSINCE and SORT DATE; ENVELOPE
 * carries the raw field instead. */
#ifndef ROOST_MIME_DATE_H
#define ROOST_MIME_DATE_H

#include <time.h>

#include "base/base.h"

/* date-time = [ day-of-week "," ] date time [CFWS]
 * date      = day month year
 * time      = time-of-day zone;  time-of-day = hour ":" minute [ ":" second ]
 * zone      = ("+" / "-") 4DIGIT / obs-zone
 * Parses an unfolded Date field value.  Returns 0 and sets *time_r to the
 * UTC time and *tz_offset_r to the zone's offset east of UTC in minutes,
 * or -1 when the value is not a date (outputs unset).  Years 0-49 are
 * 2000-2049, 50-999 are 1900 + year (RFC 5322 4.3); military zones and
 * unknown zone names count as +0000 (RFC 5322 4.3 says their sign was
 * never reliable); a missing zone is +0000.  Fields out of range (month
 * day 32, hour 25, minute 60, second 61) are rejected. */
int mime_date_parse(const char *value, time_t *time_r, int *tz_offset_r);

#endif
