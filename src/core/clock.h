/* The engine's time: monotonic milliseconds with any origin, passed into
 * every core entry point (the core never reads a clock). */
#ifndef WL_CORE_CLOCK_H
#define WL_CORE_CLOCK_H

#include <stdint.h>

/* "Never happened" or "not scheduled" for any monotonic time (handshakes,
 * tries, deadlines, expiries). */
#define ENGINE_NEVER INT64_MIN

#endif
