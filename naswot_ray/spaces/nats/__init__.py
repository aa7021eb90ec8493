"""NATS-Bench's size search space (SSS): the NB201 macro skeleton with searchable channel widths.
``sss`` registers ``nats_sss``."""
