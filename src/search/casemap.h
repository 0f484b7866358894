/* casemap.h: the collations moved down to base/casemap.h so the store
 * can fold text for its full-text index; this name stays for the
 * search-layer callers (sort, thread, search). */
#ifndef ROOST_SEARCH_CASEMAP_H
#define ROOST_SEARCH_CASEMAP_H

#include "base/casemap.h"

#endif
