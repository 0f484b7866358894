/* fault.c: failures injected for tests (see fault.h).  Each point
 * counts its calls from the moment it was armed; the state is per
 * process (a forked worker inherits its parent's and counts on its
 * own), shared by its threads (store requests run on a worker's helper
 * threads, store/request.h) under one lock. */
#include "base/fault.h"
#include "base/base.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

bool fault_enabled;

struct fault_arm_state {
	int error;		/* 0: not armed */
	unsigned int nth, count;
	unsigned int calls;	/* since arming */
	unsigned int fired;	/* calls failed since arming */
};

static pthread_mutex_t faults_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fault_arm_state faults[FAULT_POINT_COUNT];

static const char *const fault_point_names[FAULT_POINT_COUNT] = {
	[FAULT_MSG_WRITE] = "msg-write",
	[FAULT_FILE_FSYNC] = "file-fsync",
	[FAULT_INDEX_WRITE] = "index-write",
	[FAULT_INDEX_SYNC] = "index-sync",
	[FAULT_INDEX_LOCK] = "index-lock",
};

static const struct {
	const char *name;
	int error;
} fault_errors[] = {
	{ "ENOSPC", ENOSPC }, { "EDQUOT", EDQUOT }, { "EIO", EIO }, { "EBUSY", EBUSY },
};

void fault_enable(void)
{
	fault_enabled = true;
}

void fault_arm(enum fault_point point, int error, unsigned int nth, unsigned int count)
{
	pthread_mutex_lock(&faults_lock);
	faults[point] = (struct fault_arm_state){
		.error = error, .nth = nth == 0 ? 1 : nth, .count = count,
	};
	pthread_mutex_unlock(&faults_lock);
	fault_enabled = true;
}

void fault_disarm(void)
{
	pthread_mutex_lock(&faults_lock);
	memset(faults, 0, sizeof(faults));
	pthread_mutex_unlock(&faults_lock);
}

unsigned int fault_fired(enum fault_point point)
{
	pthread_mutex_lock(&faults_lock);
	unsigned int fired = faults[point].fired;
	pthread_mutex_unlock(&faults_lock);
	return fired;
}

int fault_hit(enum fault_point point)
{
	struct fault_arm_state *f = &faults[point];
	int error = 0;

	pthread_mutex_lock(&faults_lock);
	if (f->error != 0) {
		f->calls++;
		if (f->calls >= f->nth && (f->count == 0 || f->calls - f->nth < f->count)) {
			f->fired++;
			error = f->error;
		}
	}
	pthread_mutex_unlock(&faults_lock);
	if (error == 0)
		return 0;
	errno = error;
	return -1;
}

/* "POINT:ERRNO:NTH[:COUNT]" into the arguments of fault_arm(); false if
 * malformed. */
static bool fault_parse_one(char *spec, enum fault_point *point_r, int *error_r,
			    unsigned int *nth_r, unsigned int *count_r)
{
	char *fields[4] = { NULL }, *end, *tok;
	size_t n = 0;

	while ((tok = strsep(&spec, ":")) != NULL) {
		if (n == 4 || tok[0] == '\0')
			return false;
		fields[n++] = tok;
	}
	if (n < 3)
		return false;
	*point_r = FAULT_POINT_COUNT;
	for (int i = 0; i < FAULT_POINT_COUNT; i++) {
		if (strcmp(fields[0], fault_point_names[i]) == 0)
			*point_r = (enum fault_point)i;
	}
	*error_r = 0;
	for (size_t i = 0; i < sizeof(fault_errors) / sizeof(fault_errors[0]); i++) {
		if (strcmp(fields[1], fault_errors[i].name) == 0)
			*error_r = fault_errors[i].error;
	}
	unsigned long nth = strtoul(fields[2], &end, 10);
	if (*point_r == FAULT_POINT_COUNT || *error_r == 0 || *end != '\0' ||
	    nth == 0 || nth > 1000000)
		return false;
	*nth_r = (unsigned int)nth;
	*count_r = 1;
	if (n == 4) {
		unsigned long count = strtoul(fields[3], &end, 10);
		if (*end != '\0' || count > 1000000)
			return false;
		*count_r = (unsigned int)count;
	}
	return true;
}

int fault_init_env(const char **error_r)
{
	const char *value = getenv("ROOST_FAULTS");
	enum fault_point points[FAULT_POINT_COUNT];
	int errors[FAULT_POINT_COUNT];
	unsigned int nths[FAULT_POINT_COUNT], counts[FAULT_POINT_COUNT];
	size_t n = 0;
	char *copy, *rest, *item;
	bool ok = true;

	if (value == NULL || value[0] == '\0')
		return 0;
	copy = xstrdup(value);
	rest = copy;
	while (ok && (item = strsep(&rest, ",")) != NULL) {
		ok = n < FAULT_POINT_COUNT &&
			fault_parse_one(item, &points[n], &errors[n], &nths[n], &counts[n]);
		n++;
	}
	free(copy);
	if (!ok || n == 0) {
		*error_r = "ROOST_FAULTS: expected POINT:ERRNO:NTH[:COUNT][,...]";
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		fault_arm(points[i], errors[i], nths[i], counts[i]);
	return 0;
}
