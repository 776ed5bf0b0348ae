#include "activations.h"
