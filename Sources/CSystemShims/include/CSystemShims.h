#ifndef TWILL_CSYSTEMSHIMS_H
#define TWILL_CSYSTEMSHIMS_H
// C helpers for socket options whose structs or macros Swift cannot import cleanly.
// Every function is prefixed twill_ so names never collide with libc.
int twill_shims_version(void);
#endif
