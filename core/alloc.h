/* core/alloc.h — base/alloc.h, for the files above core that have always
 * included it here (docs/ARCHITECTURE.md, "Layers"). New code includes
 * base/alloc.h. */
#ifndef TROUPE_CORE_ALLOC_H
#define TROUPE_CORE_ALLOC_H

#include "base/alloc.h"

#endif
