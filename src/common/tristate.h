/* A setting that is on, off, or left to detection: --router (SPEC §9:
 * unset = auto-detect) and a peer's Basic flag (unset = taken from member
 * metadata). Shared by the configuration and the engine, so the value
 * travels from one to the other without a translation table. */
#ifndef WL_COMMON_TRISTATE_H
#define WL_COMMON_TRISTATE_H

enum wl_tristate {
	WL_AUTO = -1,
	WL_NO = 0,
	WL_YES = 1,
};

#endif
