"""The NDS design spaces (Radosavovic et al., 2019): DARTS-like cell spaces and AnyNet-style ResNe(X)t
spaces, sampled or read from the official sweep files. ``space`` registers every ``nds_*`` space."""
