#include "CSystemShims.h"
int twill_shims_version(void) { return 1; }
