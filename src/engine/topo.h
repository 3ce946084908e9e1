/* Topological ordering of a dependency graph, used by the engine to order ONNX nodes. */
#ifndef VB_TOPO_H
#define VB_TOPO_H

#include "visionbench/status.h"

/* Orders node_count nodes so that every node comes after the nodes it
 * depends on (Kahn's algorithm). The dependencies of node i are
 * deps[dep_offsets[i] .. dep_offsets[i + 1] - 1], node indices in
 * [0, node_count); a repeated dependency is allowed. dep_offsets has
 * node_count + 1 entries. Among the nodes ready at a step the lowest index
 * goes first, so an already ordered graph keeps its order.
 *
 * On success fills order[0 .. node_count - 1] with node indices. When the
 * graph has a cycle returns VB_ERR_PARSE and stores in *cycle_node (when not
 * NULL) a node that lies on a cycle. The error message does not name that
 * node, because only the caller knows node names. Errors: VB_ERR_INVALID_ARGUMENT
 * (negative count, dependency out of range), VB_ERR_NO_MEMORY. node_count 0
 * succeeds. */
vb_status vbGraphTopoSort(int node_count, const int *dep_offsets, const int *deps, int *order,
                          int *cycle_node, vb_error *err);

#endif /* VB_TOPO_H */
