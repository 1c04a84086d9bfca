// A fixture for the layering check: a profile may not reach into another profile's folder.
#include "spec/profiles/generic/generic.h"
