"""NAS-Bench-101: cell graphs and their module hash, the enumeration of all 423,624 cells, the cached
cell table, and the network. ``space`` registers ``nb101``."""
