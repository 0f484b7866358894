/* shm.c: anonymous shared mappings with a robust process-shared mutex.
 *
 * Layout of a mapping: the mutex, padded to 64 bytes, then the caller's
 * bytes.  The handle (struct shm) is ordinary memory: each process has
 * its copy after fork(), pointing at the same mapping. */
#include "shm.h"

#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SHM_HEADER_SIZE 64

struct shm_header {
	pthread_mutex_t mutex;
};

struct shm {
	void *map;
	size_t map_size;
	size_t size;
};

static_assert(sizeof(struct shm_header) <= SHM_HEADER_SIZE, "shm header too big");

struct shm *shm_create(size_t size)
{
	struct shm *shm = xcalloc(1, sizeof(*shm));
	shm->size = size;
	shm->map_size = SHM_HEADER_SIZE + (size == 0 ? 1 : size);
	shm->map = mmap(NULL, shm->map_size, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shm->map == MAP_FAILED)
		i_panic("mmap(%zu bytes, shared) failed: %s", shm->map_size, strerror(errno));

	struct shm_header *hdr = shm->map;
	pthread_mutexattr_t attr;
	if (pthread_mutexattr_init(&attr) != 0 ||
	    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) != 0 ||
	    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST) != 0 ||
	    pthread_mutex_init(&hdr->mutex, &attr) != 0)
		i_panic("cannot create a process-shared mutex");
	pthread_mutexattr_destroy(&attr);
	return shm;
}

void shm_destroy(struct shm **_shm)
{
	struct shm *shm = *_shm;
	if (shm == NULL)
		return;
	*_shm = NULL;
	/* the mutex is not destroyed: other processes may still use it */
	(void)munmap(shm->map, shm->map_size);
	free(shm);
}

void *shm_data(struct shm *shm)
{
	return (char *)shm->map + SHM_HEADER_SIZE;
}

size_t shm_size(const struct shm *shm)
{
	return shm->size;
}

bool shm_lock(struct shm *shm)
{
	struct shm_header *hdr = shm->map;
	int ret = pthread_mutex_lock(&hdr->mutex);
	if (ret == EOWNERDEAD) {
		/* the holder died: the lock is ours and usable again */
		if (pthread_mutex_consistent(&hdr->mutex) != 0)
			i_panic("pthread_mutex_consistent failed");
		return true;
	}
	if (ret != 0)
		i_panic("pthread_mutex_lock (shared) failed: %s", strerror(ret));
	return false;
}

void shm_unlock(struct shm *shm)
{
	struct shm_header *hdr = shm->map;
	int ret = pthread_mutex_unlock(&hdr->mutex);
	if (ret != 0)
		i_panic("pthread_mutex_unlock (shared) failed: %s", strerror(ret));
}
