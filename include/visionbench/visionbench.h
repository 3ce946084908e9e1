/* The whole public visionbench API in one include. */
#ifndef VISIONBENCH_H
#define VISIONBENCH_H

#include "visionbench/engine.h"
#include "visionbench/status.h"

#endif /* VISIONBENCH_H */
