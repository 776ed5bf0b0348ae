"""The graph core: symbolic tensors and nodes (tensor), graphs and their expansion (graph),
and the compiler of a graph into a static plan of kernel calls (plan)."""
from .graph import Graph, expand
from .tensor import (Node, SymbolicTensor, flatten, is_symbolic, pack_like, source_tensor,
                     structure_of)
