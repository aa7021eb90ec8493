"""NAS-Bench-201 / NATS-Bench topology space: the cell encoding, the ops, the network, closed-form costs.

``space`` registers ``nb201`` (alias ``nats_tss``); the other modules are its parts.
"""
