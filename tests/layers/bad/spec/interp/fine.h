// A fixture for the layering check: an include its layer may see (not reported).
#include "spec/model/memory.h"
