/* core/common.h — base/common.h, for the files above core that have always
 * included it here (docs/ARCHITECTURE.md, "Layers"). New code includes
 * base/common.h. */
#ifndef TROUPE_CORE_COMMON_H
#define TROUPE_CORE_COMMON_H

#include "base/common.h"

#endif
