/* Kahn's topological sort with a min-heap, so ready nodes run in their original order. */
#include <stdlib.h>

#include "core/core.h"
#include "engine/topo.h"

/* A binary min-heap of node indices. */
typedef struct Heap {
    int *items;
    int count;
} Heap;

static void heapPush(Heap *heap, int value)
{
    int i = heap->count++;
    while (i > 0) {
        int parent = (i - 1) / 2;
        if (heap->items[parent] <= value)
            break;
        heap->items[i] = heap->items[parent];
        i = parent;
    }
    heap->items[i] = value;
}

static int heapPop(Heap *heap)
{
    int top = heap->items[0];
    int last = heap->items[--heap->count];
    int i = 0;
    for (;;) {
        int child = 2 * i + 1;
        if (child >= heap->count)
            break;
        if (child + 1 < heap->count && heap->items[child + 1] < heap->items[child])
            child++;
        if (last <= heap->items[child])
            break;
        heap->items[i] = heap->items[child];
        i = child;
    }
    if (heap->count > 0)
        heap->items[i] = last;
    return top;
}

/* Walks back from a node left unsorted by Kahn's algorithm to a node on a
 * cycle. Every unsorted node has an unsorted dependency, so after node_count
 * steps back the walk is inside a cycle. */
static int findCycleNode(int node_count, const int *dep_offsets, const int *deps,
                         const int *pending, int start)
{
    int node = start;
    for (int step = 0; step < node_count; step++) {
        int next = -1;
        for (int d = dep_offsets[node]; d < dep_offsets[node + 1]; d++) {
            if (pending[deps[d]] > 0) {
                next = deps[d];
                break;
            }
        }
        if (next < 0)
            break;
        node = next;
    }
    return node;
}

vb_status vbGraphTopoSort(int node_count, const int *dep_offsets, const int *deps, int *order,
                          int *cycle_node, vb_error *err)
{
    vb_status status = VB_OK;
    int *pending = NULL;      /* [node_count] dependencies of each node not yet emitted */
    int *user_offsets = NULL; /* [node_count + 1] CSR index of the reverse edges */
    int *users = NULL;        /* [edge_count] nodes that depend on each node */
    Heap ready = {NULL, 0};

    if (node_count < 0)
        return vbErrorSet(err, VB_ERR_INVALID_ARGUMENT, "node count %d is negative", node_count);
    if (node_count == 0)
        return VB_OK;

    /* Count each node's dependencies and invert the edges. */
    int edge_count = dep_offsets[node_count];
    pending = calloc((size_t)node_count, sizeof *pending);
    user_offsets = calloc((size_t)node_count + 1, sizeof *user_offsets);
    users = malloc(((size_t)edge_count + 1) * sizeof *users);
    ready.items = malloc((size_t)node_count * sizeof *ready.items);
    if (pending == NULL || user_offsets == NULL || users == NULL || ready.items == NULL) {
        status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory sorting %d nodes", node_count);
        goto done;
    }
    for (int i = 0; i < node_count; i++) {
        for (int d = dep_offsets[i]; d < dep_offsets[i + 1]; d++) {
            if (deps[d] < 0 || deps[d] >= node_count) {
                status = vbErrorSet(err, VB_ERR_INVALID_ARGUMENT,
                                    "node %d depends on node %d, outside 0..%d", i, deps[d],
                                    node_count - 1);
                goto done;
            }
            pending[i]++;
            user_offsets[deps[d] + 1]++;
        }
    }
    for (int i = 0; i < node_count; i++)
        user_offsets[i + 1] += user_offsets[i];
    {
        int *fill = calloc((size_t)node_count, sizeof *fill);
        if (fill == NULL) {
            status = vbErrorSet(err, VB_ERR_NO_MEMORY, "out of memory sorting %d nodes",
                                node_count);
            goto done;
        }
        for (int i = 0; i < node_count; i++) {
            for (int d = dep_offsets[i]; d < dep_offsets[i + 1]; d++)
                users[user_offsets[deps[d]] + fill[deps[d]]++] = i;
        }
        free(fill);
    }

    /* Repeatedly emit the lowest-index node whose dependencies are all emitted. */
    for (int i = 0; i < node_count; i++) {
        if (pending[i] == 0)
            heapPush(&ready, i);
    }
    int emitted = 0;
    while (ready.count > 0) {
        int node = heapPop(&ready);
        order[emitted++] = node;
        for (int u = user_offsets[node]; u < user_offsets[node + 1]; u++) {
            if (--pending[users[u]] == 0)
                heapPush(&ready, users[u]);
        }
    }

    /* Nodes never emitted lie on a cycle or depend on one. */
    if (emitted < node_count) {
        int start = 0;
        while (pending[start] == 0)
            start++;
        int node = findCycleNode(node_count, dep_offsets, deps, pending, start);
        if (cycle_node != NULL)
            *cycle_node = node;
        status = vbErrorSet(err, VB_ERR_PARSE, "graph has a cycle (%d of %d nodes cannot be ordered)",
                            node_count - emitted, node_count);
    }

done:
    free(pending);
    free(user_offsets);
    free(users);
    free(ready.items);
    return status;
}
